"""A throwaway test CA and server certificates made with the openssl CLI
(for the TLS tests: docs/protocol.md §9)."""

import os
import shutil
import subprocess


def have_openssl():
    return shutil.which("openssl") is not None


def _run(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_ca(d, days=2):
    """Returns (ca_cert, ca_key) paths in directory d."""
    cert, key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", cert, "-days", str(days), "-subj", "/CN=Duplex test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_server_cert(d, name, ca, serial, days=2, revocation=False):
    """A leaf for localhost and 127.0.0.1 signed by ca; returns (cert, key).
    serial (an int) tells two certificates apart. revocation: name a CRL
    and an OCSP responder (nothing answers there), as a public CA does."""
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    csr, ext = os.path.join(d, name + ".csr"), os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
        if revocation:
            f.write("crlDistributionPoints=URI:http://127.0.0.1:9/ca.crl\n"
                    "authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp\n")
    _run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    _run("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-set_serial", str(serial),
         "-days", str(days), "-sha256", "-extfile", ext, "-out", cert)
    # The CA's certificate after the leaf: a chain, as an ACME client writes it.
    with open(cert, "ab") as out, open(ca[0], "rb") as inp:
        out.write(inp.read())
    return cert, key
