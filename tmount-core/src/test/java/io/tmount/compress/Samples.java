package io.tmount.compress;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

/** Test data that compresses like a root filesystem: runs of zeros, text, and random (incompressible) stretches. */
final class Samples {

    private Samples() {
    }

    static byte[] mixed(int length, long seed) {
        Random random = new Random(seed);
        byte[] data = new byte[length];
        byte[] text = "root:x:0:0:root:/root:/bin/sh\nexport PATH=/usr/local/bin:/usr/bin:/bin\n".getBytes();
        int position = 0;
        while (position < length) {
            int run = Math.min(length - position, 4096 + random.nextInt(64 * 1024));
            switch (random.nextInt(3)) {
                case 0 -> { } // zeros
                case 1 -> {
                    for (int i = 0; i < run; i++) {
                        data[position + i] = text[i % text.length];
                    }
                }
                default -> {
                    byte[] noise = new byte[run];
                    random.nextBytes(noise);
                    System.arraycopy(noise, 0, data, position, run);
                }
            }
            position += run;
        }
        return data;
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
