; Inno Setup 6 script of the printpharm Windows installer.
;
; Build the bundle first on Windows (same spec as Linux):
;   py -3.11 -m pip install -e ".[postgres]" pyinstaller
;   py -3.11 -m PyInstaller --noconfirm --distpath build\installer\dist --workpath build\installer\work installers\printpharm.spec
; then compile this script (from the repository root):
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 installers\printpharm.iss
; Output: build\installer\printpharm-<version>-setup.exe
;
; What it installs:
; - the bundle in {autopf}\printpharm (per machine, needs administrator rights);
; - Start-menu entries (printpharm, "printpharm doctor", uninstall), optional desktop icon;
; - the per-machine data folder {commonappdata}\printpharm (C:\ProgramData\printpharm),
;   writable by every user of the workstation, holding the shared SQLite database of a
;   standalone workstation and the exports of the offline batch logs;
; - the machine-wide PRINTPHARM_DATABASE_URL: the local SQLite file for a standalone
;   workstation, or the pharmacy's PostgreSQL server URL (wizard page, or /DBURL=... on
;   the command line for silent installs: printpharm-0.1.0-setup.exe /VERYSILENT /DBURL=postgresql+psycopg://printpharm_app@db.pharmacy.local:5432/printpharm).
; Uninstalling keeps the data folder (batch records must be retained).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "printpharm"
#define Bundle "..\build\installer\dist\printpharm"

[Setup]
AppId={{6B0F4C3E-7A52-4C1B-9D7E-2B8E5F1A9C40}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=printpharm contributors
AppPublisherURL=https://github.com/printpharm/printpharm
DefaultDirName={autopf}\printpharm
DefaultGroupName=printpharm
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\build\installer
OutputBaseFilename=printpharm-{#AppVersion}-setup
SetupIconFile=printpharm.ico
UninstallDisplayIcon={app}\printpharm.exe
Compression=lzma2/max
SolidCompression=yes
ChangesEnvironment=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "german"; MessagesFile: "compiler:Languages\German.isl"
Name: "french"; MessagesFile: "compiler:Languages\French.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "printpharm.ico"; DestDir: "{app}"; Flags: ignoreversion

[Dirs]
; every local user may create and change the shared database and exports
Name: "{commonappdata}\printpharm"; Permissions: users-modify; Flags: uninsneveruninstall
Name: "{commonappdata}\printpharm\exports"; Permissions: users-modify; Flags: uninsneveruninstall

[Icons]
Name: "{group}\printpharm"; Filename: "{app}\printpharm.exe"; IconFilename: "{app}\printpharm.ico"; WorkingDir: "{commonappdata}\printpharm"
Name: "{group}\printpharm doctor (check this workstation)"; Filename: "{cmd}"; Parameters: "/k ""{app}\printpharm.exe"" doctor"; WorkingDir: "{commonappdata}\printpharm"; IconFilename: "{app}\printpharm.ico"
Name: "{group}\{cm:UninstallProgram,printpharm}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\printpharm"; Filename: "{app}\printpharm.exe"; IconFilename: "{app}\printpharm.ico"; WorkingDir: "{commonappdata}\printpharm"; Tasks: desktopicon

[Registry]
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: string; ValueName: "PRINTPHARM_DATABASE_URL"; ValueData: "{code:DatabaseUrl}"; Flags: uninsdeletevalue

[Run]
; a new standalone database gets its schema now; `printpharm init` (first administrator)
; happens at the first start of the application
Filename: "{app}\printpharm.exe"; Parameters: "db upgrade --db ""{code:DatabaseUrl}"""; StatusMsg: "Preparing the database..."; Flags: runhidden; Check: IsStandalone
Filename: "{app}\printpharm.exe"; Description: "{cm:LaunchProgram,printpharm}"; Flags: nowait postinstall skipifsilent

[Code]
var
  DatabasePage: TInputQueryWizardPage;

function LocalDatabaseUrl(): String;
var
  Path: String;
begin
  Path := ExpandConstant('{commonappdata}\printpharm\printpharm.sqlite3');
  StringChangeEx(Path, '\', '/', True);
  Result := 'sqlite:///' + Path;
end;

procedure InitializeWizard();
var
  Given: String;
begin
  DatabasePage := CreateInputQueryPage(wpSelectDir,
    'Database', 'Where does this workstation keep its batch records?',
    'Leave the local database for a standalone workstation. In a pharmacy network, ' +
    'enter the PostgreSQL URL your administrator gave you, e.g. ' +
    'postgresql+psycopg://printpharm_app@db.pharmacy.local:5432/printpharm ' +
    '(the password belongs in %APPDATA%\postgresql\pgpass.conf, not here).');
  DatabasePage.Add('Database URL:', False);
  Given := ExpandConstant('{param:DBURL|}');
  if Given = '' then
    Given := GetEnv('PRINTPHARM_DATABASE_URL');
  if Given = '' then
    Given := LocalDatabaseUrl();
  DatabasePage.Values[0] := Given;
end;

function DatabaseUrl(Param: String): String;
begin
  Result := Trim(DatabasePage.Values[0]);
end;

function IsStandalone(): Boolean;
begin
  Result := Pos('sqlite:', DatabaseUrl('')) = 1;
end;

function NextButtonClick(CurPageID: Integer): Boolean;
begin
  Result := True;
  if (CurPageID = DatabasePage.ID) and (Pos('://', DatabaseUrl('')) = 0) then
  begin
    MsgBox('The database URL must look like sqlite:///C:/path/file.sqlite3 or ' +
      'postgresql+psycopg://user@host:5432/printpharm', mbError, MB_OK);
    Result := False;
  end;
end;
