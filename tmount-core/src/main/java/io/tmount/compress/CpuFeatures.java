package io.tmount.compress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/** What the CPU can run, for native code built for more than the x86-64 baseline. */
final class CpuFeatures {

    private CpuFeatures() {
    }

    /**
     * Whether code built for AVX2 runs here: any non-x86 CPU (the native libraries for other architectures are built
     * for their baseline), or an x86-64 CPU whose flags in /proc/cpuinfo include avx and avx2 (the kernel lists them
     * only when it saves their state too).
     */
    static boolean runsX86Avx2Code() {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            return true;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    Set<String> flags = Set.of(line.substring(line.indexOf(':') + 1).trim().split("\\s+"));
                    return flags.contains("avx") && flags.contains("avx2");
                }
            }
        } catch (IOException e) {
            // unknown: assume the worst
        }
        return false;
    }
}
