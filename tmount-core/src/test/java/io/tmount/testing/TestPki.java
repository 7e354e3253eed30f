package io.tmount.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Certificates for TLS tests, made by GnuTLS's certtool as an operator would: a CA ("ca") that signed a server
 * certificate for localhost and 127.0.0.1 and a client certificate, and another CA ("other-ca") that signed nothing.
 * Files: {@code NAME-cert.pem} and {@code NAME-key.pem} (PKCS#1, with certtool's description before it).
 */
public final class TestPki {

    private final Path dir;

    private TestPki(Path dir) {
        this.dir = dir;
    }

    public static TestPki create(Path dir) throws IOException {
        TestPki pki = new TestPki(Files.createDirectories(dir));
        pki.ca("ca");
        pki.ca("other-ca");
        pki.sign("ca", "server", "cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\n"
                + "encryption_key\nsigning_key\n");
        pki.sign("ca", "client", "cn = client\ntls_www_client\nencryption_key\nsigning_key\n");
        return pki;
    }

    public Path cert(String name) {
        return dir.resolve(name + "-cert.pem");
    }

    public Path key(String name) {
        return dir.resolve(name + "-key.pem");
    }

    /**
     * A folder as libnbd's {@code tls-certificates} and qemu's {@code tls-creds-x509 dir} read one: {@code ca}'s
     * certificate as ca-cert.pem, and the client's certificate and key when asked.
     */
    public Path clientDir(Path folder, String ca, boolean withClientCertificate) throws IOException {
        Files.createDirectories(folder);
        Files.copy(cert(ca), folder.resolve("ca-cert.pem"));
        if (withClientCertificate) {
            Files.copy(cert("client"), folder.resolve("client-cert.pem"));
            Files.copy(key("client"), folder.resolve("client-key.pem"));
        }
        return folder;
    }

    private void ca(String name) throws IOException {
        Files.writeString(dir.resolve(name + ".info"), "cn = " + name + "\nca\ncert_signing_key\nexpiration_days = 2\n");
        certtool("--generate-privkey", "--outfile", key(name).toString());
        certtool("--generate-self-signed", "--load-privkey", key(name).toString(), "--template",
                dir.resolve(name + ".info").toString(), "--outfile", cert(name).toString());
    }

    private void sign(String ca, String who, String template) throws IOException {
        Files.writeString(dir.resolve(who + ".info"), template + "expiration_days = 2\n");
        certtool("--generate-privkey", "--outfile", key(who).toString());
        certtool("--generate-certificate", "--load-privkey", key(who).toString(), "--load-ca-certificate",
                cert(ca).toString(), "--load-ca-privkey", key(ca).toString(), "--template",
                dir.resolve(who + ".info").toString(), "--outfile", cert(who).toString());
    }

    private static void certtool(String... args) {
        List<String> command = new ArrayList<>(List.of(HostTool.require("certtool", "gnutls-bin").toString()));
        command.addAll(List.of(args));
        Run.ok(command.toArray(String[]::new));
    }
}
