package io.tmount.nbd;

import io.tmount.TmountException;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TLS for an NBD server (the protocol's STARTTLS): X.509 certificate and key in PEM files, as qemu-nbd and nbdkit
 * take them. With {@code required}, a client must upgrade before anything but STARTTLS or ABORT is answered; with
 * {@code verifyPeer}, it must show a certificate the CA signed. Pre-shared keys are not offered: the JDK's TLS
 * implementation has no external PSK.
 */
public record NbdTls(SSLContext context, boolean required, boolean verifyPeer) {

    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)-----END \\1-----");

    /** The TLS settings: {@code ca} (null: none) is needed when peers are verified. */
    public static NbdTls fromPem(Path certificate, Path key, Path ca, boolean verifyPeer, boolean required) {
        try {
            Collection<? extends Certificate> chain = certificates(certificate);
            if (chain.isEmpty()) {
                throw TmountException.invalid("%s holds no certificate", certificate);
            }
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("server", privateKey(key), new char[0], chain.toArray(Certificate[]::new));
            KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keyManagers.init(keys, new char[0]);
            TrustManagerFactory trustManagers = null;
            if (ca != null) {
                KeyStore trusted = KeyStore.getInstance("PKCS12");
                trusted.load(null, null);
                int n = 0;
                for (Certificate c : certificates(ca)) {
                    trusted.setCertificateEntry("ca" + n++, c);
                }
                trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trustManagers.init(trusted);
            } else if (verifyPeer) {
                throw TmountException.invalid("verifying TLS peers needs the CA that signs their certificates "
                        + "(--tls-ca)");
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers.getKeyManagers(), trustManagers == null ? null : trustManagers.getTrustManagers(),
                    null);
            return new NbdTls(context, required, verifyPeer);
        } catch (IOException | GeneralSecurityException e) {
            throw TmountException.invalid("cannot use the TLS certificate %s and key %s: %s", certificate, key,
                    e.getMessage());
        }
    }

    SSLEngine serverEngine() {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        engine.setNeedClientAuth(verifyPeer);
        // TLS 1.3 where clients need no certificate. With client certificates, TLS 1.2: GnuTLS (libnbd, qemu) reads
        // only TLS 1.3's signature_algorithms, which rightly omits RSA PKCS#1, and so never presents a certificate a
        // CA signed that way (most are); the JDK cannot list it there (measured: certificate_required otherwise)
        engine.setEnabledProtocols(verifyPeer ? new String[]{"TLSv1.2"} : new String[]{"TLSv1.3", "TLSv1.2"});
        return engine;
    }

    private static Collection<? extends Certificate> certificates(Path file) throws IOException,
            GeneralSecurityException {
        return CertificateFactory.getInstance("X.509").generateCertificates(
                new ByteArrayInputStream(Files.readAllBytes(file)));
    }

    /** A PKCS#8 key ("PRIVATE KEY": RSA, EC or Ed25519) or a PKCS#1 RSA key ("RSA PRIVATE KEY"). */
    private static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
        Matcher pem = PEM.matcher(Files.readString(file, StandardCharsets.US_ASCII));
        while (pem.find()) {
            byte[] der = Base64.getMimeDecoder().decode(pem.group(2));
            switch (pem.group(1)) {
                case "PRIVATE KEY" -> {
                    for (String algorithm : new String[]{"RSA", "EC", "Ed25519", "Ed448"}) {
                        try {
                            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
                        } catch (GeneralSecurityException notThisOne) {
                            // try the next algorithm
                        }
                    }
                    throw new GeneralSecurityException("the key's algorithm is not RSA, EC or Ed25519");
                }
                case "RSA PRIVATE KEY" -> {
                    return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs1ToPkcs8(der)));
                }
                case "ENCRYPTED PRIVATE KEY" -> throw new GeneralSecurityException("the key is encrypted; "
                        + "store it unencrypted (readable by root only)");
                default -> {
                    // a certificate or parameters in the same file: look further
                }
            }
        }
        throw new GeneralSecurityException("no PEM private key found (convert one with `openssl pkcs8 -topk8 "
                + "-nocrypt`)");
    }

    /** Wraps a PKCS#1 RSAPrivateKey in PKCS#8's PrivateKeyInfo (version 0, rsaEncryption, NULL). */
    private static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01,
                0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] key = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algorithm.length + key.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
        System.arraycopy(key, 0, body, version.length + algorithm.length, key.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] length = n < 0x80 ? new byte[]{(byte) n}
                : n < 0x100 ? new byte[]{(byte) 0x81, (byte) n}
                : n < 0x10000 ? new byte[]{(byte) 0x82, (byte) (n >> 8), (byte) n}
                : new byte[]{(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + length.length + n];
        out[0] = (byte) tag;
        System.arraycopy(length, 0, out, 1, length.length);
        System.arraycopy(content, 0, out, 1 + length.length, n);
        return out;
    }
}
