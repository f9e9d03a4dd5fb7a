; 乡安 Windows installer (Inno Setup 6.5+): Chinese wizard, per-machine install into Program Files,
; Start-menu and desktop shortcuts; uninstalling keeps the user's data unless they say otherwise.
;
; Built on a Windows runner by .github/workflows/windows-installer.yml, after `python installer/build.py`
; has made dist\xiangan\ (PyInstaller) and build\icons\xiangan.ico:
;
;   iscc /DAppVersion=0.1.0 installer\windows\xiangan.iss      → dist\xiangan-0.1.0-setup.exe
;
; It cannot be built on Linux. The data folder (%LOCALAPPDATA%\XiangAn) is never inside {app}, so
; installing a newer version over an older one leaves every township's data alone.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=x.y.z installer\windows\xiangan.iss
#endif
#ifndef BundleDir
  #define BundleDir AddBackslash(SourcePath) + "..\..\dist\xiangan"
#endif
#ifndef IconFile
  #define IconFile AddBackslash(SourcePath) + "..\..\build\icons\xiangan.ico"
#endif
#ifndef OutputDir
  #define OutputDir AddBackslash(SourcePath) + "..\..\dist"
#endif
; Simplified Chinese is an "unofficial" Inno Setup translation: use the compiler's copy if it has one,
; else the file the workflow downloads beside this script (pinned to a commit of jrsoftware/issrc).
#if FileExists(AddBackslash(CompilerPath) + "Languages\ChineseSimplified.isl")
  #define ChineseMessages "compiler:Languages\ChineseSimplified.isl"
#else
  #define ChineseMessages AddBackslash(SourcePath) + "ChineseSimplified.isl"
#endif

[Setup]
; The AppId ties upgrades and the uninstaller together: never change it.
AppId={{6F1B7D3A-2C4E-4F59-9A61-58E3B0C7D2A4}
AppName=乡安
AppVersion={#AppVersion}
AppVerName=乡安 {#AppVersion}
AppPublisher=乡安项目组
AppComments=乡镇（街道）应急管理工作台
VersionInfoVersion={#AppVersion}
VersionInfoProductName=乡安
VersionInfoDescription=乡安 安装程序
DefaultDirName={autopf}\XiangAn
DefaultGroupName=乡安
DisableProgramGroupPage=yes
DisableDirPage=auto
; Per-machine: one install for every account on the office PC (needs an administrator once).
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=xiangan-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\xiangan.exe
UninstallDisplayName=乡安 {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
RestartApplications=no
ShowLanguageDialog=no

[Languages]
Name: "chinesesimplified"; MessagesFile: "{#ChineseMessages}"

[CustomMessages]
chinesesimplified.DeleteDataPrompt=是否同时删除本机的乡安数据？%n%n数据文件夹：%1%n%n其中有数据库、备份和附件照片，删除后无法恢复。如需保留，请选择“否”（建议先在乡安中“备份到U盘”）。

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[InstallDelete]
; The previous version's program files go first, so nothing stale (an old Qt plugin) survives an upgrade.
; The data folder is elsewhere and untouched.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\乡安"; Filename: "{app}\xiangan.exe"; WorkingDir: "{app}"; Comment: "乡镇（街道）应急管理工作台"
Name: "{autodesktop}\乡安"; Filename: "{app}\xiangan.exe"; WorkingDir: "{app}"; Comment: "乡镇（街道）应急管理工作台"; Tasks: desktopicon

[Run]
Filename: "{app}\xiangan.exe"; Description: "{cm:LaunchProgram,乡安}"; Flags: nowait postinstall skipifsilent

[Code]
// Data lives in %LOCALAPPDATA%\XiangAn of each Windows account (platformdirs, app/paths.py). The
// uninstaller can only see the account it runs as; other accounts' data is always left alone.
// Silent uninstalls (scripts, upgrades by IT) never delete data.
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep <> usPostUninstall then
    Exit;
  DataDir := ExpandConstant('{localappdata}\XiangAn');
  if UninstallSilent or not DirExists(DataDir) then
    Exit;
  if MsgBox(FmtMessage(CustomMessage('DeleteDataPrompt'), [DataDir]), mbConfirmation,
            MB_YESNO or MB_DEFBUTTON2) = IDYES then
    DelTree(DataDir, True, True, True);
end;
