package io.tmount.nbd;

import io.tmount.TmountException;
import io.tmount.image.FileImage;
import io.tmount.os.CommandResult;
import io.tmount.testing.HostTool;
import io.tmount.testing.Run;
import io.tmount.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * NBD over TLS (STARTTLS) with real clients and their own TLS stacks (GnuTLS): nbdinfo, nbdcopy and qemu-img, with
 * certificates made here by certtool. A client that trusts another CA is refused, a client without TLS is refused
 * where TLS is required, and with peer verification a client without a certificate of the CA's is refused.
 */
class NbdTlsTest {

    private static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    private Path file;
    private FileImage image;
    private NbdServer server;

    private TestPki pki;

    private Path clientDir(String name, String ca, boolean withClientCertificate) throws IOException {
        return pki.clientDir(dir.resolve(name), ca, withClientCertificate);
    }

    @BeforeEach
    void pkiAndImage() throws IOException {
        pki = TestPki.create(dir.resolve("pki"));
        file = dir.resolve("disk.img");
        byte[] data = new byte[SIZE];
        new Random(5).nextBytes(data);
        Files.write(file, data);
        image = FileImage.open(file, true);
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
        image.close();
    }

    private int start(boolean required, boolean verifyPeer) throws IOException {
        NbdTls tls = NbdTls.fromPem(pki.cert("server"), pki.key("server"), verifyPeer ? pki.cert("ca") : null,
                verifyPeer, required);
        server = NbdServer.start(NbdListen.tcp(new InetSocketAddress("127.0.0.1", 0), false),
                List.of(new NbdExport("disk", "", image, true)), NbdServer.Limits.DEFAULT,
                new PayloadBudget(NbdServer.Limits.DEFAULT.inFlightBytes()), tls);
        return server.endpoint().tcp().getPort();
    }

    private static CommandResult nbdinfo(String uri) {
        return Run.any(HostTool.require("nbdinfo", "libnbd-bin").toString(), "--size", uri);
    }

    @Test
    void offered_tlsClientsOfTheCaGetIn_andPlainClientsToo_butNotClientsOfAnotherCa() throws IOException {
        int port = start(false, false);
        Path trusting = clientDir("trusting", "ca", false);
        String tlsUri = "nbds://localhost:" + port + "/disk?tls-certificates=" + trusting;

        CommandResult size = nbdinfo(tlsUri);
        assertThat(size.succeeded()).as(size.stderr()).isTrue();
        assertThat(size.stdout().strip()).isEqualTo(Integer.toString(SIZE));
        assertThat(nbdinfo("nbd://localhost:" + port + "/disk").stdout().strip()).isEqualTo(Integer.toString(SIZE));

        Path copied = dir.resolve("copied.img");
        Run.ok(HostTool.require("nbdcopy", "libnbd-bin").toString(), tlsUri, copied.toString());
        assertThat(Files.mismatch(copied, file)).isEqualTo(-1);

        Path converted = dir.resolve("converted.img");
        Run.ok(HostTool.require("qemu-img", "qemu-utils").toString(), "convert", "--object",
                "tls-creds-x509,id=tls0,dir=" + trusting + ",endpoint=client", "--image-opts",
                "driver=nbd,server.type=inet,server.host=localhost,server.port=" + port + ",export=disk,tls-creds=tls0",
                "-O", "raw", converted.toString());
        assertThat(Files.mismatch(converted, file)).isEqualTo(-1);

        Path distrusting = clientDir("distrusting", "other-ca", false);
        CommandResult refused = nbdinfo("nbds://localhost:" + port + "/disk?tls-certificates=" + distrusting);
        assertThat(refused.succeeded()).isFalse();
        assertThat(refused.stderr()).containsIgnoringCase("certificate");
        // the server lives on
        assertThat(nbdinfo(tlsUri).succeeded()).isTrue();
    }

    @Test
    void required_refusesClientsWithoutTls() throws IOException {
        int port = start(true, false);
        CommandResult plain = nbdinfo("nbd://localhost:" + port + "/disk");
        assertThat(plain.succeeded()).isFalse();
        assertThat(plain.stderr()).containsIgnoringCase("TLS");
        Path trusting = clientDir("trusting", "ca", false);
        assertThat(nbdinfo("nbds://localhost:" + port + "/disk?tls-certificates=" + trusting).stdout().strip())
                .isEqualTo(Integer.toString(SIZE));
    }

    @Test
    void verifyPeer_admitsOnlyClientsWithACertificateOfTheCa() throws IOException {
        int port = start(true, true);
        Path anonymous = clientDir("anonymous", "ca", false);
        assertThat(nbdinfo("nbds://localhost:" + port + "/disk?tls-certificates=" + anonymous).succeeded()).isFalse();
        Path known = clientDir("known", "ca", true);
        CommandResult admitted = nbdinfo("nbds://localhost:" + port + "/disk?tls-certificates=" + known);
        assertThat(admitted.succeeded()).as(admitted.stderr()).isTrue();
        assertThat(admitted.stdout().strip()).isEqualTo(Integer.toString(SIZE));
        CommandResult qemu = Run.any(HostTool.require("qemu-img", "qemu-utils").toString(), "info", "--object",
                "tls-creds-x509,id=tls0,dir=" + known + ",endpoint=client", "--image-opts",
                "driver=nbd,server.type=inet,server.host=localhost,server.port=" + port + ",export=disk,tls-creds=tls0");
        assertThat(qemu.succeeded()).as(qemu.stderr()).isTrue();
        assertThat(qemu.stdout()).contains("virtual size: 8 MiB");
    }

    @Test
    void badKeyFiles_areRefusedWithAClearError() throws IOException {
        assertThatThrownBy(() -> NbdTls.fromPem(pki.cert("server"), pki.cert("server"), null, false, false))
                .isInstanceOf(TmountException.class).hasMessageContaining("no PEM private key");
        assertThatThrownBy(() -> NbdTls.fromPem(pki.cert("server"), pki.key("server"), null, true, false))
                .isInstanceOf(TmountException.class).hasMessageContaining("--tls-ca");
    }
}
