#!/usr/bin/env python3
"""Makes the self-contained Windows folder of Duplex (win32/README.md, "Bundle").

    bundle.py --out DIR --prefix PREFIX --source SRCDIR [--strip] [--nsh FILE]
              [--cc CC...] EXE...

DIR gets, flat: the given executables (duplex.exe, duplexd.exe), exactly the
DLLs they import, directly or through another DLL (the import tables are
walked with OBJDUMP -p; DLLs come from PREFIX/bin or the mingw-w64 runtime,
Windows' own are left out), then share/glib-2.0/schemas/gschemas.compiled
(Duplex's schema with GTK's and GLib's), the application icon under
share/icons, share/locale/LANG/LC_MESSAGES/duplex.mo for every language
of po/LINGUAS, and the --ticker demo scripts of data/demo under
share/duplex/demo. DIR is emptied first.

--nsh FILE writes an NSIS include that installs exactly these files and
removes exactly these files (win32/duplex-installer.nsi).
Exit status 1, with the reason, when an imported DLL is found nowhere.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# DLLs every Windows (7 and later) has: never shipped. Anything else that
# is not found in the prefix or the mingw runtime is an error, so a missing
# dependency shows up here and not on a user's machine.
SYSTEM_DLLS = {
    "advapi32.dll", "bcrypt.dll", "comctl32.dll", "comdlg32.dll", "crypt32.dll",
    "d3d9.dll", "d3d11.dll", "dwmapi.dll", "dwrite.dll", "dxgi.dll", "gdi32.dll",
    "gdiplus.dll", "hid.dll", "imm32.dll", "iphlpapi.dll", "kernel32.dll",
    "msimg32.dll", "msvcrt.dll", "mswsock.dll", "ncrypt.dll", "netapi32.dll",
    "ntdll.dll", "ole32.dll", "oleaut32.dll", "opengl32.dll", "rpcrt4.dll",
    "secur32.dll", "setupapi.dll", "shell32.dll", "shlwapi.dll", "user32.dll",
    "userenv.dll", "usp10.dll", "uxtheme.dll", "version.dll", "winmm.dll",
    "winspool.drv", "ws2_32.dll", "dnsapi.dll", "imagehlp.dll", "dbghelp.dll",
    "psapi.dll", "wtsapi32.dll", "cfgmgr32.dll", "powrprof.dll",
}


def imports(objdump, path):
    out = subprocess.run([objdump, "-p", path], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return re.findall(r"^\s*DLL Name: (\S+)", out, re.M)


def runtime_dll(cc, name):
    """The mingw runtime's copy of name (libwinpthread-1.dll, ...) or None."""
    if not cc:
        return None
    out = subprocess.run(cc + ["-print-file-name=" + name], stdout=subprocess.PIPE,
                         universal_newlines=True).stdout.strip()
    return out if os.path.isabs(out) and os.path.isfile(out) else None


def find_dll(name, search, cc):
    for d in search:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
        # Import tables are case-insensitive; the files may not be.
        if os.path.isdir(d):
            for f in os.listdir(d):
                if f.lower() == name.lower():
                    return os.path.join(d, f)
    return runtime_dll(cc, name)


def walk_dlls(objdump, exes, search, cc):
    """{lower name: path} of every non-system DLL the exes need."""
    found, todo, missing = {}, list(exes), []
    while todo:
        for dll in imports(objdump, todo.pop()):
            key = dll.lower()
            if key in found or key in SYSTEM_DLLS or key.startswith("api-ms-win-"):
                continue
            path = find_dll(dll, search, cc)
            if path is None:
                missing.append(dll)
                found[key] = None
                continue
            found[key] = path
            todo.append(path)
    if missing:
        sys.exit("bundle.py: imported but found neither in %s nor in the mingw runtime: %s"
                 % (", ".join(search), ", ".join(sorted(set(missing)))))
    return found


def copy(src, dst, strip):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if strip:
        subprocess.run([strip, "-o", dst, src], check=True)
    else:
        shutil.copy2(src, dst)


def compile_schemas(prefix, source, out):
    """Duplex's schema plus the prefix's (GTK's file chooser needs its own)."""
    with tempfile.TemporaryDirectory() as tmp:
        for d in (os.path.join(prefix, "share", "glib-2.0", "schemas"),
                  os.path.join(source, "data")):
            if os.path.isdir(d):
                for f in os.listdir(d):
                    if f.endswith(".gschema.xml") or f.endswith(".enums.xml"):
                        shutil.copy(os.path.join(d, f), tmp)
        target = os.path.join(out, "share", "glib-2.0", "schemas")
        os.makedirs(target, exist_ok=True)
        subprocess.run(["glib-compile-schemas", "--strict", "--targetdir", target, tmp],
                       check=True)


def compile_translations(source, out):
    po = os.path.join(source, "po")
    with open(os.path.join(po, "LINGUAS")) as f:
        langs = [w for line in f for w in line.split("#")[0].split()]
    for lang in langs:
        d = os.path.join(out, "share", "locale", lang, "LC_MESSAGES")
        os.makedirs(d, exist_ok=True)
        subprocess.run(["msgfmt", "--check", "-o", os.path.join(d, "duplex.mo"),
                        os.path.join(po, lang + ".po")], check=True)


def write_nsh(out, nsh):
    """NSIS macros DX_BUNDLE_INSTALL and DX_BUNDLE_REMOVE over out's files."""
    dirs, files = [], []
    for root, dnames, fnames in os.walk(out):
        dnames.sort()
        rel = os.path.relpath(root, out)
        if rel != ".":
            dirs.append(rel)
        for f in sorted(fnames):
            files.append(os.path.normpath(os.path.join(rel, f)))

    def win(p):
        return p.replace("/", "\\")

    lines = ["; Generated by win32/bundle.py: the bundle's files, one by one, so",
             "; the uninstaller removes exactly what was installed.",
             "!macro DX_BUNDLE_INSTALL"]
    current = None
    for f in files:
        d = os.path.dirname(f)
        if d != current:
            lines.append('  SetOutPath "$INSTDIR%s"' % (("\\" + win(d)) if d else ""))
            current = d
        lines.append('  File "/oname=%s" "%s"' % (os.path.basename(f),
                                                  os.path.abspath(os.path.join(out, f))))
    lines.append('  SetOutPath "$INSTDIR"')
    lines += ["!macroend", "", "!macro DX_BUNDLE_REMOVE"]
    for f in files:
        lines.append('  Delete "$INSTDIR\\%s"' % win(f))
    # Deepest first; RMDir (not /r) keeps a directory a user put files in.
    for d in sorted(dirs, key=lambda p: p.count(os.sep), reverse=True):
        lines.append('  RMDir "$INSTDIR\\%s"' % win(d))
    lines.append("!macroend")
    with open(nsh, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", required=True, help="the dependency prefix (win32/deps)")
    ap.add_argument("--source", required=True, help="the Duplex source tree")
    ap.add_argument("--objdump", default="x86_64-w64-mingw32-objdump")
    ap.add_argument("--strip", metavar="STRIP", help="strip copies with this program")
    ap.add_argument("--cc", nargs="+", help="the cross compiler (finds the mingw runtime DLLs)")
    ap.add_argument("--nsh", help="write the NSIS file list here")
    ap.add_argument("--stamp", help="touch this file when done (for build systems)")
    ap.add_argument("exes", nargs="+")
    a = ap.parse_args()

    out = os.path.abspath(a.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    dlls = walk_dlls(a.objdump, a.exes, [os.path.join(a.prefix, "bin")], a.cc)
    for exe in a.exes:
        copy(exe, os.path.join(out, os.path.basename(exe)), a.strip)
    for path in dlls.values():
        copy(path, os.path.join(out, os.path.basename(path)), a.strip)
    compile_schemas(a.prefix, a.source, out)
    icon = "io.github.duplex.Duplex.svg"
    copy(os.path.join(a.source, "data", "icons", "hicolor", "scalable", "apps", icon),
         os.path.join(out, "share", "icons", "hicolor", "scalable", "apps", icon), None)
    compile_translations(a.source, out)
    demo = os.path.join(a.source, "data", "demo")
    for name in sorted(os.listdir(demo)):
        copy(os.path.join(demo, name), os.path.join(out, "share", "duplex", "demo", name), None)
    if a.nsh:
        write_nsh(out, a.nsh)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print("bundle.py: %s: %d executables, %d DLLs, %.1f MB"
          % (out, len(a.exes), len(dlls), size / 1e6))
    if a.stamp:
        with open(a.stamp, "w") as f:
            f.write("\n".join(sorted(os.path.basename(p) for p in dlls.values())) + "\n")


if __name__ == "__main__":
    main()
