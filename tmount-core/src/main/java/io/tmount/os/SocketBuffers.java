package io.tmount.os;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.Method;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;

/**
 * A socket's send buffer of a given size whatever the host's {@code net.core.wmem_max}. SO_SNDBUF is capped by that
 * sysctl (212992 bytes by default, under one 1 MiB read); SO_SNDBUFFORCE, allowed with CAP_NET_ADMIN (a root daemon
 * has it), is not. The JDK offers neither the option nor a channel's descriptor, so the descriptor comes from the
 * JDK's own {@code sun.nio.ch.SelChImpl.getFDVal} (exported to tmount by its launcher, jar manifest and test runs)
 * and the option is set through FFM. Wherever either is missing, SO_SNDBUF as capped.
 */
public final class SocketBuffers {

    private static final int SOL_SOCKET = 1;
    private static final int SO_SNDBUFFORCE = 32;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SETSOCKOPT = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("setsockopt"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final Method FD_VAL = fdValMethod();

    private SocketBuffers() {
    }

    private static Method fdValMethod() {
        try {
            return Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Sets the send buffer to {@code bytes} (the kernel doubles it for its bookkeeping, as for SO_SNDBUF); returns
     * the size granted, as the JDK's SO_SNDBUF reports it (in the same terms as {@code bytes}).
     */
    public static int setSendBuffer(SocketChannel channel, int bytes) throws IOException {
        if (!force(channel, bytes)) {
            channel.setOption(StandardSocketOptions.SO_SNDBUF, bytes);
        }
        return channel.getOption(StandardSocketOptions.SO_SNDBUF);
    }

    private static boolean force(SocketChannel channel, int bytes) {
        if (FD_VAL == null) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) FD_VAL.invoke(channel);
            MemorySegment value = arena.allocateFrom(ValueLayout.JAVA_INT, bytes);
            return (int) SETSOCKOPT.invokeExact(fd, SOL_SOCKET, SO_SNDBUFFORCE, value, Integer.BYTES) == 0; // EPERM: no CAP_NET_ADMIN
        } catch (Error e) {
            throw e;
        } catch (Throwable notExported) {
            return false; // not exported to us (tmount used as a library without the flag)
        }
    }
}
