package io.tmount.nbd;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** Decoding NBD request headers as the connection's reader does, from a direct buffer of pipelined requests. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RequestDecodeBench {

    private static final int REQUESTS = 1024;
    private ByteBuffer wire;

    @Setup
    public void requests() {
        wire = ByteBuffer.allocateDirect(REQUESTS * NbdProtocol.REQUEST_BYTES);
        Random random = new Random(1);
        for (int i = 0; i < REQUESTS; i++) {
            wire.putInt(NbdProtocol.REQUEST_MAGIC).putShort((short) 0).putShort((short) NbdProtocol.CMD_READ)
                    .putLong(i).putLong((long) random.nextInt(1 << 18) * 4096).putInt(4096);
        }
    }

    @Benchmark
    @OperationsPerInvocation(REQUESTS)
    public void decodeRequest(Blackhole sink) {
        wire.clear();
        for (int i = 0; i < REQUESTS; i++) {
            Request request = Request.decode(wire);
            sink.consume(request.offset() + request.length() + request.cookie());
        }
    }
}
