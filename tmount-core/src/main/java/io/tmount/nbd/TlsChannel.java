package io.tmount.nbd;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;

/**
 * A blocking TLS connection over a socket channel, after NBD's STARTTLS: one thread may read while others write
 * (the request reader and the repliers), as SSLEngine allows wrap and unwrap at once.
 */
final class TlsChannel implements ByteChannel, GatheringByteChannel {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SocketChannel socket;
    private final SSLEngine engine;
    private final Object readLock = new Object();
    private final Object writeLock = new Object();
    private ByteBuffer netIn;  // ciphertext received, not yet unwrapped (write mode); guarded by readLock
    private ByteBuffer appIn;  // plaintext unwrapped, not yet read (write mode); guarded by readLock
    private ByteBuffer netOut; // guarded by writeLock
    private volatile boolean established;

    private TlsChannel(SocketChannel socket, SSLEngine engine) {
        this.socket = socket;
        this.engine = engine;
        this.netIn = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        this.appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
        this.netOut = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    }

    /** Runs the server side of the TLS handshake on {@code socket}; fails if the peer is refused or leaves. */
    static TlsChannel accept(SocketChannel socket, SSLEngine engine) throws IOException {
        TlsChannel channel = new TlsChannel(socket, engine);
        engine.beginHandshake();
        channel.handshake();
        channel.established = true;
        return channel;
    }

    private void handshake() throws IOException {
        synchronized (readLock) {
            while (true) {
                switch (engine.getHandshakeStatus()) {
                    case NOT_HANDSHAKING, FINISHED -> {
                        return;
                    }
                    case NEED_TASK -> runTasks();
                    case NEED_WRAP -> wrap(EMPTY_ARRAY, 0, 0);
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                        if (unwrap() < 0) {
                            throw new EOFException("the client left during the TLS handshake");
                        }
                    }
                }
            }
        }
    }

    private static final ByteBuffer[] EMPTY_ARRAY = {EMPTY};

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /** Unwraps one record (reading from the socket as needed); -1 at the end of the stream. Holds readLock. */
    private int unwrap() throws IOException {
        while (true) {
            netIn.flip();
            SSLEngineResult result;
            try {
                result = engine.unwrap(netIn, appIn);
            } finally {
                netIn.compact();
            }
            switch (result.getStatus()) {
                case OK -> {
                    if (established && "TLSv1.2".equals(engine.getSession().getProtocol())
                            && result.getHandshakeStatus() != SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING
                            && result.getHandshakeStatus() != SSLEngineResult.HandshakeStatus.FINISHED) {
                        // a renegotiation: nothing an NBD client needs, and a way to make the reader write
                        throw new SSLException("the client started a TLS renegotiation; refused");
                    }
                    if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                        runTasks();
                    }
                    if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP
                            && engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                        wrap(EMPTY_ARRAY, 0, 0); // a post-handshake message (key update) wants an answer
                    }
                    return result.bytesProduced();
                }
                case BUFFER_UNDERFLOW -> {
                    if (!netIn.hasRemaining()) {
                        netIn = grow(netIn, engine.getSession().getPacketBufferSize());
                    }
                    if (socket.read(netIn) < 0) {
                        return -1;
                    }
                }
                case BUFFER_OVERFLOW -> appIn = grow(appIn, engine.getSession().getApplicationBufferSize());
                case CLOSED -> {
                    return -1;
                }
            }
        }
    }

    private static ByteBuffer grow(ByteBuffer buffer, int atLeast) {
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(atLeast, buffer.capacity() * 2));
        return bigger.put(buffer.flip());
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        synchronized (readLock) {
            while (appIn.position() == 0) {
                if (unwrap() < 0 && appIn.position() == 0) {
                    return -1;
                }
            }
            appIn.flip();
            int n = Math.min(appIn.remaining(), dst.remaining());
            dst.put(appIn.slice().limit(n));
            appIn.position(appIn.position() + n).compact();
            return n;
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return (int) write(new ByteBuffer[]{src}, 0, 1);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return wrap(srcs, offset, length);
    }

    /** Wraps and sends everything in the buffers (at least one record, for handshake messages). */
    private long wrap(ByteBuffer[] srcs, int offset, int length) throws IOException {
        synchronized (writeLock) {
            long consumed = 0;
            do {
                netOut.clear();
                SSLEngineResult result = engine.wrap(srcs, offset, length, netOut);
                switch (result.getStatus()) {
                    case OK -> {
                        netOut.flip();
                        while (netOut.hasRemaining()) {
                            socket.write(netOut);
                        }
                        consumed += result.bytesConsumed();
                        if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                            runTasks();
                        }
                        if (result.bytesConsumed() == 0 && result.bytesProduced() == 0) {
                            if (remaining(srcs, offset, length)) {
                                throw new SSLException("TLS made no progress sending (" + engine.getHandshakeStatus()
                                        + ")"); // rather than let a caller loop on it
                            }
                            return consumed;
                        }
                    }
                    case BUFFER_OVERFLOW -> netOut = ByteBuffer.allocate(Math.max(netOut.capacity() * 2,
                            engine.getSession().getPacketBufferSize()));
                    case CLOSED -> throw new ClosedChannelException();
                    case BUFFER_UNDERFLOW -> throw new SSLException("TLS wrap underflow");
                }
            } while (remaining(srcs, offset, length));
            return consumed;
        }
    }

    private static boolean remaining(ByteBuffer[] srcs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (srcs[i].hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean isOpen() {
        return socket.isOpen();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
