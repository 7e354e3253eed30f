package io.tmount.files;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * How file names (bytes, whatever ext4 holds) are shown. {@link #display} keeps printable UTF-8 and writes
 * everything else as an escape ({@code \n}, {@code \t}, {@code \\}, {@code \xHH}), so one name is always one line and
 * two names never print alike. {@link #mtree} is mtree's encoding: printable ASCII but space and backslash kept,
 * every other byte as {@code \ooo}, so a manifest line splits on spaces.
 */
public final class Names {

    private Names() {
    }

    public static String display(byte[] name) {
        StringBuilder out = new StringBuilder(name.length);
        int at = 0;
        while (at < name.length) {
            int b = name[at] & 0xff;
            if (b >= 0x80) {
                int length = utf8Length(name, at);
                if (length > 0) {
                    String text = new String(name, at, length, StandardCharsets.UTF_8);
                    int codePoint = text.codePointAt(0);
                    // controls, unassigned, and format characters (bidi overrides, zero-width joiners) that would
                    // make two names look alike
                    if (Character.isISOControl(codePoint) || !Character.isDefined(codePoint)
                            || Character.getType(codePoint) == Character.FORMAT) {
                        for (int i = 0; i < length; i++) {
                            hex(out, name[at + i]);
                        }
                    } else {
                        out.append(text);
                    }
                    at += length;
                    continue;
                }
                hex(out, name[at]);
            } else if (b == '\\') {
                out.append("\\\\");
            } else if (b == '\n') {
                out.append("\\n");
            } else if (b == '\t') {
                out.append("\\t");
            } else if (b < 0x20 || b == 0x7f) {
                hex(out, name[at]);
            } else {
                out.append((char) b);
            }
            at++;
        }
        return out.toString();
    }

    public static String mtree(byte[] name) {
        StringBuilder out = new StringBuilder(name.length);
        for (byte value : name) {
            int b = value & 0xff;
            if (b > 0x20 && b < 0x7f && b != '\\') {
                out.append((char) b);
            } else {
                out.append('\\').append((char) ('0' + (b >> 6))).append((char) ('0' + ((b >> 3) & 7)))
                        .append((char) ('0' + (b & 7)));
            }
        }
        return out.toString();
    }

    /** The bytes of a path a user typed (UTF-8, as the launcher's locale passes it). */
    public static byte[] argument(String path) {
        return path.getBytes(StandardCharsets.UTF_8);
    }

    /** The length of the well-formed UTF-8 sequence at {@code at}, or 0 where there is none. */
    private static int utf8Length(byte[] name, int at) {
        int b = name[at] & 0xff;
        int length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
        if (length == 0 || at + length > name.length) {
            return 0;
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            decoder.decode(ByteBuffer.wrap(name, at, length));
            return length;
        } catch (CharacterCodingException e) {
            return 0;
        }
    }

    private static void hex(StringBuilder out, byte b) {
        out.append(String.format("\\x%02x", b & 0xff));
    }
}
