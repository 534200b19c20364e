; Inno Setup script for Tablao on Windows. NOT BUILT OR TESTED in this project's CI (see
; packaging/README.md). On a Windows machine with Python 3.11 and Inno Setup 6:
;   set TABLAO_BUNDLE_NAME=tablao-0.1.0 & set TABLAO_ADDON_ZIPS=build\addon & set TABLAO_FFMPEG=<imageio-ffmpeg's ffmpeg-win64-*.exe>
;   python -m addon.build --dist build\addon
;   python -m PyInstaller --noconfirm --distpath build\pyinstaller\dist packaging\tablao.spec
;   iscc /DVersion=0.1.0 packaging\windows\tablao.iss
; It installs the PyInstaller folder per user (no administrator rights), with a Start menu entry for
; the desktop app; settings and data go to %APPDATA%\tablao and %LOCALAPPDATA%\tablao as on Linux.

#ifndef Version
  #define Version "0.1.0"
#endif
#define Bundle "..\..\build\pyinstaller\dist\tablao-" + Version

[Setup]
AppId={{5E0B7C1A-2F7D-4B57-9C1E-7A6C3D1E7A51}
AppName=Tablao
AppVersion={#Version}
AppPublisher=Tablao developers
DefaultDirName={localappdata}\Programs\Tablao
DefaultGroupName=Tablao
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=tablao-{#Version}-windows-x86_64-setup
SetupIconFile=..\icons\tablao.ico
UninstallDisplayIcon={app}\tablao.exe
Compression=lzma2
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesEnvironment=yes

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\Tablao"; Filename: "{app}\tablao.exe"; IconFilename: "{app}\tablao.exe"
Name: "{group}\Uninstall Tablao"; Filename: "{uninstallexe}"

[Registry]
; `tablao` and `farm` on the user's PATH.
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\tablao.exe"; Description: "Open Tablao"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;
