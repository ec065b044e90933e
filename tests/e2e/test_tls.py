"""HTTPS end to end: tocsin serves with server.tls (a CA and a server certificate made here with
the `openssl` command), verified clients get through, plain HTTP and silent clients do not, the
CLI talks HTTPS with --cacert, SIGHUP swaps the certificate, and check-config names a bad file."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

from harness import ServerTestCase, http_request, tocsin_bin, wait_until

READ_TIMEOUT_SECONDS = 1


def openssl(*args: str, cwd: str) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {r.stderr}")


def make_ca(d: str, name: str) -> None:
    """d/NAME.crt and d/NAME.key: a throwaway CA, valid one day."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "1", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            cwd=d)


def make_server_cert(d: str, ca: str, name: str) -> None:
    """d/NAME.crt and d/NAME.key: a certificate for 127.0.0.1 and localhost signed by CA."""
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=localhost", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.ext", cwd=d)


def served_certificate(port: int, context: ssl.SSLContext) -> bytes:
    """The DER certificate the server presents to a new connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def der_of(pem_file: str) -> bytes:
    with open(pem_file) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command (scripts/setup installs it)")
class TlsTest(ServerTestCase):
    @classmethod
    def prepare(cls):
        cls.tls_dir = os.path.join(cls.tmp, "tls")
        os.makedirs(cls.tls_dir)
        make_ca(cls.tls_dir, "ca")
        make_server_cert(cls.tls_dir, "ca", "server")
        cls.ca_file = os.path.join(cls.tls_dir, "ca.crt")
        cls.context = ssl.create_default_context(cafile=cls.ca_file)
        with open(cls.config_path) as f:
            text = f.read()
        # HTTPS with files relative to the config, no external_url (it defaults to https://),
        # and a short read_timeout for the silent-client test.
        plain_url = f"  external_url: http://127.0.0.1:{cls.port}\n"
        assert plain_url in text
        text = text.replace(plain_url, "  tls: {cert_file: tls/server.crt, key_file: tls/server.key}\n")
        text += f"limits:\n  read_timeout: {READ_TIMEOUT_SECONDS}s\n"
        with open(cls.config_path, "w") as f:
            f.write(text)

    @classmethod
    def client_context(cls):
        return cls.context

    def test_https_verified_against_the_ca(self):
        self.assertTrue(self.server.base.startswith("https://"))
        r = self.server.get("/healthz")
        self.assertEqual(r.status, 200, r)
        r = self.server.get("/api/v1/incidents")
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json.get("incidents"), list, r)
        # A client that does not trust the CA refuses the server.
        with self.assertRaises(Exception) as refused:
            http_request("GET", self.server.url("/healthz"), timeout=5, context=ssl.create_default_context())
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(refused.exception))

    def test_pages_link_to_the_https_external_url(self):
        r = self.server.push([{"name": "system_load", "labels": {"service": "api", "instance": "tls1"},
                               "value": 0.95}])
        self.assertEqual(r.status // 100, 2, r)
        pages = self.receiver.wait_for(lambda p: p in ("/alice", "/bob"), 1, timeout=15)
        self.assertTrue(pages, f"no page arrived: {self.receiver.describe()}")
        self.assertIn(f"https://127.0.0.1:{self.port}/", pages[0].body.decode(),
                      "the default external_url should be https://<listen> with server.tls")

    def test_plain_http_is_not_served(self):
        r = http_request("GET", f"http://127.0.0.1:{self.port}/healthz", timeout=5)
        self.assertEqual(r.status, 400, r)
        self.assertIn("speaks HTTPS only", r.json["error"], r)

    def test_silent_client_is_disconnected_after_read_timeout(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            t0 = time.monotonic()
            data = s.recv(1024)  # blocks until the server closes: it sends nothing to a silent client
            waited = time.monotonic() - t0
        self.assertEqual(data, b"")
        self.assertGreaterEqual(waited, READ_TIMEOUT_SECONDS * 0.8)
        self.assertLess(waited, READ_TIMEOUT_SECONDS + 3)

    def test_cli_over_https(self):
        url = f"https://127.0.0.1:{self.port}"
        ok = self.server.cli("incident", "list", "--server", url, "--cacert", self.ca_file)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        env = dict(os.environ, TOCSIN_CACERT=self.ca_file)
        via_env = subprocess.run([tocsin_bin(), "oncall", "--server", url], capture_output=True, text=True,
                                 timeout=20, env=env, stdin=subprocess.DEVNULL)
        self.assertEqual(via_env.returncode, 0, via_env.stderr)
        self.assertIn("ops-primary", via_env.stdout)
        untrusted = self.server.cli("incident", "list", "--server", url)
        self.assertNotEqual(untrusted.returncode, 0)
        self.assertIn("--cacert", untrusted.stderr)
        missing = os.path.join(self.tmp, "no-such-ca.crt")
        bad = self.server.cli("incident", "list", "--server", url, "--cacert", missing)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn(f"cannot read the CA file {missing}", bad.stderr)

    def test_sighup_serves_a_renewed_certificate_to_new_connections(self):
        before = served_certificate(self.port, self.context)
        self.assertEqual(before, der_of(os.path.join(self.tls_dir, "server.crt")))
        make_server_cert(self.tls_dir, "ca", "renewed")
        # A broken key first: the reload fails and the old certificate stays in use.
        with open(os.path.join(self.tls_dir, "server.key"), "w") as f:
            f.write("not a key\n")
        self.server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "tls certificate not reloaded" in self.server.log_tail(), 10),
                        "no reload failure in the log")
        self.assertEqual(served_certificate(self.port, self.context), before)
        for ext in ("crt", "key"):
            shutil.copy(os.path.join(self.tls_dir, f"renewed.{ext}"), os.path.join(self.tls_dir, f"server.{ext}"))
        self.server.proc.send_signal(signal.SIGHUP)
        renewed = der_of(os.path.join(self.tls_dir, "renewed.crt"))
        self.assertTrue(wait_until(lambda: served_certificate(self.port, self.context) == renewed, 10),
                        "the renewed certificate was not served after SIGHUP")
        self.assertEqual(self.server.get("/healthz").status, 200)

    def test_check_config_names_a_bad_certificate_file(self):
        ok = self.server.cli("check-config", self.config_path)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        with open(self.config_path) as f:
            text = f.read()
        broken = os.path.join(self.tmp, "broken.yaml")
        with open(broken, "w") as f:
            f.write(text.replace("cert_file: tls/server.crt", "cert_file: tls/missing.crt"))
        r = self.server.cli("check-config", broken)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        missing = os.path.join(self.tls_dir, "missing.crt")
        self.assertIn("server.tls.cert_file", r.stderr)
        self.assertIn(f"cannot read the TLS certificate {missing}: No such file or directory", r.stderr)
        # A key of another certificate.
        with open(broken, "w") as f:
            f.write(text.replace("key_file: tls/server.key", "key_file: tls/ca.key"))
        r = self.server.cli("check-config", broken)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("does not match the certificate", r.stderr)


if __name__ == "__main__":
    unittest.main()
