package io.tmount.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** A byte-level NBD client for tests that must send what real clients never would. */
final class RawNbdClient implements AutoCloseable {

    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    record SimpleReply(int error, long cookie) {
    }

    /** One structured reply chunk. */
    record Chunk(int flags, int type, long cookie, ByteBuffer payload) {
        boolean done() {
            return (flags & NbdProtocol.REPLY_FLAG_DONE) != 0;
        }
    }

    final SocketChannel channel;
    final int handshakeFlags;

    private RawNbdClient(SocketChannel channel, int handshakeFlags) {
        this.channel = channel;
        this.handshakeFlags = handshakeFlags;
    }

    /** Connects and reads the greeting; sends the client flags. */
    static RawNbdClient connect(Path socket, int clientFlags) throws IOException {
        SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        ByteBuffer greeting = read(channel, 18);
        if (greeting.getLong() != NbdProtocol.NBDMAGIC || greeting.getLong() != NbdProtocol.IHAVEOPT) {
            throw new IOException("bad greeting");
        }
        int flags = Short.toUnsignedInt(greeting.getShort());
        channel.write(ByteBuffer.allocate(4).putInt(clientFlags).flip());
        return new RawNbdClient(channel, flags);
    }

    void sendOption(long magic, int option, byte[] data) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(16 + data.length);
        buffer.putLong(magic).putInt(option).putInt(data.length).put(data).flip();
        write(buffer);
    }

    void sendOptionHeader(int option, int length) throws IOException {
        write(ByteBuffer.allocate(16).putLong(NbdProtocol.IHAVEOPT).putInt(option).putInt(length).flip());
    }

    OptionReply readOptionReply() throws IOException {
        ByteBuffer header = read(channel, 20);
        if (header.getLong() != NbdProtocol.OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic");
        }
        int option = header.getInt();
        int type = header.getInt();
        int length = header.getInt();
        byte[] data = new byte[length];
        read(channel, length).get(data);
        return new OptionReply(option, type, data);
    }

    static byte[] infoRequest(String name, int... infos) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(4 + bytes.length + 2 + 2 * infos.length);
        data.putInt(bytes.length).put(bytes).putShort((short) infos.length);
        for (int info : infos) {
            data.putShort((short) info);
        }
        return data.array();
    }

    /** GO for the export; returns its size after the final ACK. */
    long go(String name) throws IOException {
        sendOption(NbdProtocol.IHAVEOPT, NbdProtocol.OPT_GO, infoRequest(name));
        long size = -1;
        while (true) {
            OptionReply reply = readOptionReply();
            if (reply.type() == NbdProtocol.REP_ACK) {
                return size;
            }
            if (reply.type() < 0) {
                throw new IOException("GO failed: " + reply.text());
            }
            ByteBuffer data = ByteBuffer.wrap(reply.data());
            if (data.getShort() == NbdProtocol.INFO_EXPORT) {
                size = data.getLong();
            }
        }
    }

    void request(int magic, int flags, int type, long cookie, long offset, int length, ByteBuffer payload)
            throws IOException {
        ByteBuffer header = ByteBuffer.allocate(28);
        header.putInt(magic).putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset)
                .putInt(length).flip();
        write(header);
        if (payload != null) {
            write(payload);
        }
    }

    void request(int flags, int type, long cookie, long offset, int length, ByteBuffer payload) throws IOException {
        request(NbdProtocol.REQUEST_MAGIC, flags, type, cookie, offset, length, payload);
    }

    SimpleReply readReply() throws IOException {
        ByteBuffer reply = read(channel, 16);
        if (reply.getInt() != NbdProtocol.SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic");
        }
        return new SimpleReply(reply.getInt(), reply.getLong());
    }

    Chunk readChunk() throws IOException {
        ByteBuffer header = read(channel, 20);
        if (header.getInt() != NbdProtocol.STRUCTURED_REPLY_MAGIC) {
            throw new IOException("bad structured reply magic");
        }
        int flags = Short.toUnsignedInt(header.getShort());
        int type = Short.toUnsignedInt(header.getShort());
        long cookie = header.getLong();
        int length = header.getInt();
        return new Chunk(flags, type, cookie, read(channel, length));
    }

    /** A LIST_META_CONTEXT or SET_META_CONTEXT request's data. */
    static byte[] metaContextRequest(String export, String... queries) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        int length = 4 + name.length + 4;
        for (String query : queries) {
            length += 4 + query.getBytes(StandardCharsets.UTF_8).length;
        }
        ByteBuffer data = ByteBuffer.allocate(length).putInt(name.length).put(name).putInt(queries.length);
        for (String query : queries) {
            byte[] bytes = query.getBytes(StandardCharsets.UTF_8);
            data.putInt(bytes.length).put(bytes);
        }
        return data.array();
    }

    byte[] readData(int length) throws IOException {
        byte[] data = new byte[length];
        read(channel, length).get(data);
        return data;
    }

    /** True when the server has closed the connection (a read returns end of stream). */
    boolean closedByServer() throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        try {
            return channel.read(one) < 0;
        } catch (IOException reset) {
            return true;
        }
    }

    private void write(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private static ByteBuffer read(SocketChannel channel, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException("server closed the connection");
            }
        }
        return buffer.flip();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
