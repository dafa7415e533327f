"""The transport over TLS against the real monitor started with a key store (keytool-made, self-signed)."""

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

import support  # tests/ is on sys.path (run_tests.py); support also puts the package on it

import ergowatch  # noqa: E402


class TlsEndToEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        jar = support.monitor_jar()
        keytool = shutil.which("keytool")
        if keytool is None:
            if support.IN_CI:
                raise RuntimeError("CI=true: the TLS test needs keytool (a JDK)")
            raise unittest.SkipTest("keytool (a JDK) is not on PATH")
        cls.dir = tempfile.mkdtemp(prefix="ergowatch-tls-")
        store = os.path.join(cls.dir, "monitor.p12")
        cert = os.path.join(cls.dir, "monitor.pem")
        subprocess.run([keytool, "-genkeypair", "-alias", "monitor", "-keyalg", "EC", "-groupname", "secp256r1",
                        "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
                        "-storetype", "PKCS12", "-keystore", store, "-storepass", "pw-123456", "-keypass",
                        "pw-123456"], check=True, capture_output=True)
        subprocess.run([keytool, "-exportcert", "-rfc", "-alias", "monitor", "-keystore", store, "-storepass",
                        "pw-123456", "-file", cert], check=True, capture_output=True)
        cls.context = ssl.create_default_context(cafile=cert)
        cls.monitor = support.MonitorProcess(jar, extra_args=["--config", cls._config(store)])

    @classmethod
    def _config(cls, store):
        path = os.path.join(cls.dir, "monitor.yml")
        with open(path, "w") as f:
            f.write(f"tls-keystore: {store}\ntls-keystore-password: pw-123456\n")
        return path

    @classmethod
    def tearDownClass(cls):
        cls.monitor.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_records_stream_over_tls(self):
        with ergowatch.Agent(f"127.0.0.1:{self.monitor.ingest_port}", run="py-tls", series=["loss"],
                             tls=self.context) as agent:
            for t in range(500):
                agent.record(t, loss=1.0 / (t + 1))
            self.assertTrue(agent.flush(20.0))
        deadline = time.monotonic() + 10
        while True:
            status, body = self.monitor.https(f"/api/runs/py-tls", self.context)
            if status == 200 and json.loads(body)["steps"] == 500:
                break
            self.assertLess(time.monotonic(), deadline, body)
            time.sleep(0.05)

    def test_a_plain_agent_is_not_welcomed(self):
        agent = ergowatch.Agent(f"127.0.0.1:{self.monitor.ingest_port}", run="py-plain", series=["loss"],
                                reconnect_backoff=(0.05, 0.1), close_timeout=0.5)
        try:
            agent.record(0, loss=1.0)
            self.assertFalse(agent.flush(1.0))
        finally:
            agent.close()


if __name__ == "__main__":
    unittest.main()
