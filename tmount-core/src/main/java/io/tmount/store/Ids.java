package io.tmount.store;

import io.tmount.TmountException;

import java.util.regex.Pattern;

/** The rule shared by template and build ids: they name store folders, so they must be safe path segments. */
final class Ids {

    static final int MAX_LENGTH = 128;
    private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");

    private Ids() {
    }

    static String check(String what, String value) {
        if (value == null || value.isEmpty()) {
            throw TmountException.invalid("%s is missing", what);
        }
        String shown = printable(value);
        if (value.length() > MAX_LENGTH) {
            throw TmountException.invalid("%s '%s…' is too long (%d characters; at most %d)",
                    what, shown.substring(0, 32), value.length(), MAX_LENGTH);
        }
        if (!ALLOWED.matcher(value).matches() || value.contains("..")) {
            throw TmountException.invalid(
                    "%s '%s' is invalid: use letters, digits, '.', '_' and '-' (no '/', no '..', not starting with '.' or '-')",
                    what, shown);
        }
        return value;
    }

    /** Control characters shown as \\uXXXX so a bad id cannot garble a log line or terminal. */
    private static String printable(String value) {
        StringBuilder out = new StringBuilder();
        value.codePoints().forEach(cp -> {
            if (Character.isISOControl(cp)) {
                out.append(String.format("\\u%04x", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }
}
