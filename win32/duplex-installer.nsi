; Duplex for Windows: installs the chat window (duplex.exe, with its DLLs
; and data: the bundle made by win32/bundle.py) and the server (duplexd.exe,
; a console program) into Program Files\Duplex, with Start-menu shortcuts
; and an uninstaller that Add/Remove Programs lists. Built with makensis
; (Debian package nsis) by scripts/build-windows-installer.sh or the
; windows test suite:
;
;   makensis -NOCD -DVERSION=0.1.0 -DBUNDLE_NSH=/path/bundle-files.nsh \
;            -DOUTFILE=/path/duplex-setup-0.1.0.exe win32/duplex-installer.nsi
;
; BUNDLE_NSH (from bundle.py --nsh) lists the bundle's files one by one, so
; the uninstaller removes exactly those. Without a bundle (a cross build
; without the dependency prefix) -DDUPLEXD_EXE=/path/duplexd.exe installs
; the server alone.
;
; -NOCD: relative paths are then taken from the current directory, so the
; script finds its own files through WIN32_DIR below (defaults to the
; script's directory).
;
; Silent use: duplex-setup-X.exe /S [/D=C:\Some\Dir]   (/D must come last,
; unquoted); uninstall.exe /S.
;
; No firewall rule: duplexd listens on 127.0.0.1 by default.

; A 64-bit installer (Debian's nsis ships the amd64 stubs): it needs no
; 32-bit Wine, sees the real Program Files and the 64-bit registry view,
; and is never redirected by WOW64.
Target amd64-unicode
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "define VERSION (e.g. -DVERSION=0.1.0)"
!endif
!ifdef BUNDLE_NSH
  !include "${BUNDLE_NSH}"
!else ifndef DUPLEXD_EXE
  !error "define BUNDLE_NSH (bundle.py --nsh) or DUPLEXD_EXE (the server alone)"
!endif
!ifndef OUTFILE
  !define OUTFILE "duplex-setup-${VERSION}.exe"
!endif
!ifndef WIN32_DIR
  !define WIN32_DIR "${__FILEDIR__}"
!endif

!define PRODUCT "Duplex"
!define PUBLISHER "The Duplex authors"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Duplex"
!define HTTP_ADDR "127.0.0.1:8080"
!define TCP_ADDR "127.0.0.1:8081"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"

Name "${PRODUCT} ${VERSION}"
OutFile "${OUTFILE}"
; 64-bit program: the real Program Files, not "Program Files (x86)".
InstallDir "$PROGRAMFILES64\${PRODUCT}"
; A re-install (or upgrade) goes where the last one went.
InstallDirRegKey HKLM "${UNINST_KEY}" "InstallLocation"
RequestExecutionLevel admin
ShowInstDetails show
ShowUninstDetails show

; Explorer's Details tab of the setup program itself. VIProductVersion
; needs four numbers; VERSION is a.b.c.
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=1033 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${PRODUCT} ${VERSION} setup"
VIAddVersionKey /LANG=1033 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=1033 "LegalCopyright" "MIT License"

!define MUI_ABORTWARNING
!ifdef BUNDLE_NSH
  !define DX_WHAT "the Duplex chat window (Start menu > Duplex) and the Duplex chat server (duplexd)"
!else
  !define DX_WHAT "the Duplex chat server (duplexd)"
!endif
!define MUI_WELCOMEPAGE_TEXT "This installs ${DX_WHAT} ${VERSION}.$\r$\n$\r$\nduplexd is a console program: the Start menu gets a shortcut that runs it in a console window, listening on ${HTTP_ADDR} (HTTP, WebSocket) and ${TCP_ADDR} (raw TCP). Close the window or press Ctrl+C to stop it.$\r$\n$\r$\n$_CLICK"
!define MUI_FINISHPAGE_SHOWREADME "$INSTDIR\README.txt"
!define MUI_FINISHPAGE_SHOWREADME_TEXT "Show the README"

!insertmacro MUI_PAGE_WELCOME
!define MUI_PAGE_HEADER_TEXT "Read me"
!define MUI_PAGE_HEADER_SUBTEXT "How to run Duplex on Windows."
!define MUI_LICENSEPAGE_TEXT_TOP "About Duplex on Windows:"
!define MUI_LICENSEPAGE_BUTTON "$(^NextBtn)"
!define MUI_LICENSEPAGE_TEXT_BOTTOM "Click Next to continue."
!insertmacro MUI_PAGE_LICENSE "${WIN32_DIR}/README-windows.txt"
!insertmacro MUI_PAGE_LICENSE "${WIN32_DIR}/LICENSE.txt"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

Function .onInit
  SetShellVarContext all
FunctionEnd

Function un.onInit
  SetShellVarContext all
FunctionEnd

Section "Duplex" SecMain
  SectionIn RO
  SetOutPath "$INSTDIR"
!ifdef BUNDLE_NSH
  !insertmacro DX_BUNDLE_INSTALL
!else
  File "/oname=duplexd.exe" "${DUPLEXD_EXE}"
  ; The --ticker demo script (the bundle carries it in its own list).
  SetOutPath "$INSTDIR\share\duplex\demo"
  File "/oname=baseball-ko.txt" "${WIN32_DIR}/../data/demo/baseball-ko.txt"
  SetOutPath "$INSTDIR"
!endif
  File "/oname=README.txt" "${WIN32_DIR}/README-windows.txt"
  File "/oname=LICENSE.txt" "${WIN32_DIR}/LICENSE.txt"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Start menu, for every user. The server shortcut runs duplexd in a
  ; console through cmd /k, so the window stays open after duplexd exits
  ; and a start-up error (e.g. a port already in use) stays readable.
  ; No finish-page "run now": it would run the server elevated, as the
  ; installer. duplexd writes nothing to its working directory ($INSTDIR).
  CreateDirectory "$SMPROGRAMS\${PRODUCT}"
!ifdef BUNDLE_NSH
  ; The chat window; it connects to http://${HTTP_ADDR} unless told
  ; otherwise (its settings, or --server).
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\Duplex.lnk" "$INSTDIR\duplex.exe" "" \
    "$INSTDIR\duplex.exe" 0 SW_SHOWNORMAL "" "Chat over five transports"
!endif
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\Duplex server.lnk" "$SYSDIR\cmd.exe" \
    '/k ""$INSTDIR\duplexd.exe" --http ${HTTP_ADDR} --tcp ${TCP_ADDR}"' \
    "$INSTDIR\duplexd.exe" 0 SW_SHOWNORMAL "" \
    "Run the Duplex chat server on ${HTTP_ADDR} (HTTP) and ${TCP_ADDR} (TCP)"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\Duplex README.lnk" "$INSTDIR\README.txt"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\Uninstall Duplex.lnk" "$INSTDIR\uninstall.exe"

  ; Add/Remove Programs.
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${PRODUCT} ${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\duplexd.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKLM "${UNINST_KEY}" "EstimatedSize" "$0"
SectionEnd

Section "Uninstall"
  ; Only what the installer put there: a user's own files in $INSTDIR
  ; survive (and then RMDir leaves the directory).
!ifdef BUNDLE_NSH
  !insertmacro DX_BUNDLE_REMOVE
!else
  Delete "$INSTDIR\duplexd.exe"
  Delete "$INSTDIR\share\duplex\demo\baseball-ko.txt"
  RMDir "$INSTDIR\share\duplex\demo"
  RMDir "$INSTDIR\share\duplex"
  RMDir "$INSTDIR\share"
!endif
  Delete "$INSTDIR\README.txt"
  Delete "$INSTDIR\LICENSE.txt"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  Delete "$SMPROGRAMS\${PRODUCT}\Duplex.lnk"
  Delete "$SMPROGRAMS\${PRODUCT}\Duplex server.lnk"
  Delete "$SMPROGRAMS\${PRODUCT}\Duplex README.lnk"
  Delete "$SMPROGRAMS\${PRODUCT}\Uninstall Duplex.lnk"
  RMDir "$SMPROGRAMS\${PRODUCT}"

  DeleteRegKey HKLM "${UNINST_KEY}"
SectionEnd
