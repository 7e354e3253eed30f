package io.tmount.mount;

import io.tmount.os.MountTable;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What is wrong with each active mount right now: its device or server, or what the mount table shows at its path. */
final class MountHealth {

    private MountHealth() {
    }

    /** The mounts, oldest first, each with its problem ({@link MountInfo#problem()}) or none. */
    static List<MountInfo> check(List<ActiveMount> mounts, MountTable mountTable) {
        Map<java.nio.file.Path, MountTable.Entry> visible = new HashMap<>();
        for (MountTable.Entry entry : mountTable.entries()) {
            visible.put(entry.mountPoint(), entry); // the last one mounted at a path is the one seen there
        }
        return mounts.stream()
                .map(m -> m.info().withProblem(problemOf(m, visible.get(m.info().mountPath())).orElse(null)))
                .sorted(Comparator.comparing(MountInfo::createdAt))
                .toList();
    }

    private static Optional<String> problemOf(ActiveMount mount, MountTable.Entry seen) {
        Optional<String> device = mount.probe().problem();
        if (device.isPresent()) {
            return device;
        }
        MountInfo info = mount.info();
        if (seen == null || info.devicePath() == null || !seen.source().equals(info.devicePath().toString())) {
            return Optional.of("its filesystem is not what is mounted at " + info.mountPath() + " any more (unmounted, "
                    + "or covered by another mount, outside tmount); unmount it to release " + info.devicePath());
        }
        if (!info.readOnly() && seen.wentReadOnly()) {
            return Optional.of("the filesystem went read-only after an error (see the kernel log); commit still "
                    + "stores its changes at block level, and unmount keeps them under orphans/");
        }
        return Optional.empty();
    }
}
