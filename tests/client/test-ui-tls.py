#!/usr/bin/env python3
"""TAP: an https:// server whose certificate does not verify, through
AT-SPI (docs/protocol.md §9). A self-signed certificate (openssl CLI) on
duplexd itself (--tls-cert) when it has TLS, else on a Python TLS relay
(tls-relay.py) in front of a plain duplexd; the client, given no
CA, shows why the certificate is refused (issuer, name, reason);
"Trust This Certificate" remembers it in known-hosts, and then a message
typed in the window is stored by the server.
Run under xvfb-run -a dbus-run-session -- PYTHON test-ui-tls.py."""
import json
import os
import subprocess
import sys
import tempfile
import time

from atspi_util import (find, find_app, press_enter, pyatspi, start_server,
                         stop, tap, type_into, wait_stored)

HERE = os.path.dirname(os.path.abspath(__file__))


def start_relay(tmp, ports):
    ready = os.path.join(tmp, 'relay-ready')
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'tls-relay.py'),
                             os.path.join(tmp, 'cert.pem'), os.path.join(tmp, 'key.pem'),
                             '127.0.0.2', '0', '127.0.0.1:%d' % ports['http'], '127.0.0.1',
                             str(ports['tcp']), ready])
    for _ in range(400):
        if os.path.exists(ready):
            with open(ready) as f:
                return proc, int(f.read())
        time.sleep(0.05)
    raise RuntimeError('the TLS relay did not start')


def native_tls():
    out = subprocess.run([os.environ['DUPLEXD'], '--help'], capture_output=True, text=True)
    return '--tls-cert' in out.stdout + out.stderr


def start_tls_server(tmp):
    """duplexd with the certificate: (process, its ports)."""
    ready = os.path.join(tmp, 'ready.json')
    proc = subprocess.Popen([os.environ['DUPLEXD'], '--http', '127.0.0.1:0', '--tcp',
                             '127.0.0.1:0', '--ready-file', ready, '--store', 'memory',
                             '--log-level', 'warn', '--tls-cert', os.path.join(tmp, 'cert.pem'),
                             '--tls-key', os.path.join(tmp, 'key.pem')])
    for _ in range(200):
        if os.path.exists(ready):
            with open(ready) as f:
                return proc, json.load(f)
        time.sleep(0.05)
    raise RuntimeError('duplexd did not get ready')


def main():
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                        '-subj', '/CN=duplex ui test',
                        '-addext', 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2',
                        '-keyout', os.path.join(tmp, 'key.pem'),
                        '-out', os.path.join(tmp, 'cert.pem')],
                       check=True, capture_output=True)
        relay = None
        if native_tls():
            # The test itself reads the stored messages over https, trusting
            # the certificate (Python's ssl honours SSL_CERT_FILE).
            os.environ['SSL_CERT_FILE'] = os.path.join(tmp, 'cert.pem')
            server, ports = start_tls_server(tmp)
            host, port = '127.0.0.1', ports['http']
            plain = 'https://127.0.0.1:%d' % port
        else:
            server, ports = start_server(tmp)
            relay, port = start_relay(tmp, ports)
            host, plain = '127.0.0.2', 'http://127.0.0.1:%d' % ports['http']
        print('# TLS server: %s' % ('duplexd --tls-cert' if relay is None else 'tls-relay.py'))
        config = os.path.join(tmp, 'config')
        env = dict(os.environ, GSETTINGS_BACKEND='memory', XDG_CONFIG_HOME=config)
        app_proc = subprocess.Popen([os.environ['DUPLEX'], '--server',
                                     'https://%s:%d' % (host, port), '--nick', 'uitls',
                                     '--room', 'lobby', '--transport', 'websocket'], env=env)
        try:
            app = find_app(app_proc.pid)
            results.append((app is not None, 'the window is on the AT-SPI bus'))
            if app is None:
                return results
            notice = find(app, lambda n: 'is not trusted' in n.name, timeout=30)
            text = notice.name if notice is not None else ''
            results.append((notice is not None, 'the refusal is explained: %r' % text))
            results.append(('not signed by an authority' in text and 'duplex ui test' in text
                            and 'SHA-256' in text,
                            'it names the reason, the subject and the fingerprint'))
            button = find(app, lambda n: n.name == 'Trust This Certificate'
                          and n.getRole() != pyatspi.ROLE_LABEL)
            results.append((button is not None, 'a button offers to trust it'))
            if button is None:
                return results
            button.queryAction().doAction(0)
            known = os.path.join(config, 'duplex', 'known-hosts')
            for _ in range(50):
                if os.path.exists(known):
                    break
                time.sleep(0.1)
            line = open(known).read() if os.path.exists(known) else ''
            results.append((line.startswith('%s:%d ' % (host, port)),
                            'known-hosts remembers the server: %r' % line.strip()))
            entry = find(app, lambda n: n.name == 'Message')
            results.append((entry is not None, 'the message entry is there'))
            if entry is None:
                return results
            # The transport's retry connects now (a short backoff after the refusal).
            time.sleep(3)
            type_into(entry, app_proc.pid, 'hello over wss')
            press_enter()
            ok = wait_stored(plain, 'lobby', 'hello over wss')
            results.append((ok, 'once trusted, a message sent over wss:// is stored'))
            # The statistics panel shows the handshake (name, value, name, … in its grid).
            name = find(app, lambda n: n.name == 'TLS handshakes'
                        and n.getRole() == pyatspi.ROLE_LABEL)
            shown = None
            if name is not None:
                grid = name.parent
                labels = [grid.getChildAtIndex(i).name for i in range(grid.childCount)]
                i = labels.index('TLS handshakes')
                shown = labels[i + 1] if i + 1 < len(labels) else None
            results.append((shown is not None and shown.isdigit() and int(shown) >= 1,
                            'the statistics panel counts the TLS handshakes: %s' % shown))
        finally:
            stop(app_proc)
            if relay is not None:
                stop(relay)
            stop(server)
    return results


if __name__ == '__main__':
    tap(main())
