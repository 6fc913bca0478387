#!/usr/bin/env python3
"""TAP: every translatable string of the client is translated in each
po/<lang>.po (none untranslated, none fuzzy, no obsolete entries), and
msgfmt --check accepts the file."""
import os
import subprocess
import sys
import tempfile

po_dir = sys.argv[1]
src_root = os.path.dirname(po_dir)
langs = open(os.path.join(po_dir, 'LINGUAS')).read().split()
files = [l.strip() for l in open(os.path.join(po_dir, 'POTFILES.in'))
         if l.strip() and not l.startswith('#')]

print('1..%d' % (2 * len(langs)))
n = 0
with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, 'duplex.pot')
    # The glib preset of meson's i18n.gettext.
    subprocess.run(['xgettext', '--from-code=UTF-8', '--add-comments', '--keyword=_',
                    '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
                    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3',
                    '--keyword=g_dpgettext2:2c,3', '-o', pot, '--directory', src_root] + files,
                   check=True)
    for lang in langs:
        po = os.path.join(po_dir, lang + '.po')
        n += 1
        r = subprocess.run(['msgfmt', '--check', '-o', os.devnull, po], capture_output=True,
                           text=True)
        print('%s %d - msgfmt --check %s.po' % ('ok' if r.returncode == 0 else 'not ok', n, lang))
        if r.returncode != 0:
            print('# ' + r.stderr.replace('\n', '\n# '))
        merged = os.path.join(tmp, lang + '.po')
        subprocess.run(['msgmerge', '--quiet', '--no-fuzzy-matching', '-o', merged, po, pot],
                       check=True)
        r = subprocess.run(['msgfmt', '--statistics', '-o', os.devnull, merged],
                           capture_output=True, text=True)
        stats = r.stderr.strip()
        bad = ('untranslated' in stats or 'fuzzy' in stats)
        # Obsolete entries: translations of strings the code no longer has.
        obsolete = sum(1 for l in open(po, encoding='utf-8') if l.startswith('#~'))
        n += 1
        ok = not bad and obsolete == 0 and r.returncode == 0
        print('%s %d - %s.po complete (%s, %d obsolete)' % ('ok' if ok else 'not ok', n, lang,
                                                         stats, obsolete))
        if bad:
            r = subprocess.run(['msgattrib', '--untranslated', merged],
                               capture_output=True, text=True)
            print('# ' + r.stdout.replace('\n', '\n# '))
