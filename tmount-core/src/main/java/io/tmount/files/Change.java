package io.tmount.files;

import java.util.List;

/**
 * One difference between two trees: an entry only in the second ({@code ADDED}), only in the first
 * ({@code REMOVED}), or in both but different ({@code CHANGED}, with what differs: type, content, mode, owner,
 * target, device, xattrs, time).
 */
public record Change(Kind kind, byte[] path, List<String> what, FileEntry a, FileEntry b) {

    public enum Kind {
        ADDED('+'), REMOVED('-'), CHANGED('M');

        private final char mark;

        Kind(char mark) {
            this.mark = mark;
        }

        public char mark() {
            return mark;
        }
    }

    public Change {
        what = List.copyOf(what);
    }
}
