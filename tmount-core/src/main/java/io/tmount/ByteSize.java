package io.tmount;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A size in bytes, parsed from forms like {@code 4096}, {@code 64M}, {@code 1G}, {@code 512MiB}. */
public record ByteSize(long bytes) {

    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*([KMGT]?)(I?B)?", Pattern.CASE_INSENSITIVE);

    public ByteSize {
        if (bytes < 0) {
            throw TmountException.invalid("size (%d) must not be negative", bytes);
        }
    }

    /** Parses a size; suffixes K, M, G, T (optionally followed by iB or B) are powers of 1024. */
    public static ByteSize parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw TmountException.invalid(
                    "size '%s' is not understood: use bytes or a number with K, M, G or T (powers of 1024), e.g. 512M", text);
        }
        int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        try {
            long value = Long.parseLong(m.group(1));
            if (value > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return new ByteSize(value << shift);
        } catch (NumberFormatException e) {
            throw TmountException.invalid("size '%s' is too large", text);
        }
    }

    /** A short human form: 64.0 MiB, 1.5 GiB, 812 B. */
    public static String format(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    @Override
    public String toString() {
        return format(bytes);
    }
}
