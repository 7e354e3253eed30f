package io.tmount.nbd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

import static io.tmount.nbd.NbdProtocol.*;

/**
 * The fixed-newstyle handshake: greeting, client flags, then options until the client picks an export (GO or
 * EXPORT_NAME) or leaves. Structured replies and the {@code base:allocation} metadata context can be negotiated.
 * Unknown options are answered with ERR_UNSUP and negotiation continues.
 */
final class Negotiation {

    private static final Logger log = LoggerFactory.getLogger(Negotiation.class);

    /** Options carry names and small lists; anything larger is abuse and ends the connection. */
    static final int MAX_OPTION_BYTES = 64 * 1024;

    private final SocketChannel socket;
    private final NbdTls tls;
    private ReadableByteChannel in;
    private GatheringByteChannel channel; // what replies go to: the socket, or TLS over it after STARTTLS
    private final Map<String, NbdExport> exports;
    private final int maxPayload;
    private boolean noZeroes;
    private boolean structured;
    private String allocationExport; // the export SET_META_CONTEXT selected base:allocation for, or null

    /** {@code tls}: the server's TLS settings, or null when it offers none. */
    Negotiation(SocketChannel socket, NbdTls tls, Map<String, NbdExport> exports, int maxPayload) {
        this.socket = socket;
        this.tls = tls;
        this.in = socket;
        this.channel = socket;
        this.exports = exports;
        this.maxPayload = maxPayload;
    }

    /** The session the client chose, or empty when it aborted, disconnected or broke the protocol. */
    Optional<Session> run() throws IOException {
        return chooseExport().map(export -> new Session(export, structured,
                // contexts set for another export than the one chosen do not apply (the client must not use them)
                export.name().equals(allocationExport), in, channel));
    }

    private Optional<NbdExport> chooseExport() throws IOException {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        greeting.putLong(NBDMAGIC).putLong(IHAVEOPT).putShort((short) (FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)).flip();
        Wire.writeFully(channel, greeting);

        ByteBuffer clientFlags = ByteBuffer.allocate(4);
        if (!Wire.readFully(in, clientFlags)) {
            return Optional.empty();
        }
        int flags = clientFlags.flip().getInt();
        if ((flags & ~(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES)) != 0) {
            log.debug("client set unknown handshake flags {}; closing", Integer.toHexString(flags));
            return Optional.empty();
        }
        noZeroes = (flags & CLIENT_FLAG_NO_ZEROES) != 0;

        ByteBuffer header = ByteBuffer.allocate(16);
        while (true) {
            header.clear();
            if (!Wire.readFully(in, header)) {
                return Optional.empty();
            }
            header.flip();
            long magic = header.getLong();
            int option = header.getInt();
            long length = Integer.toUnsignedLong(header.getInt());
            if (magic != IHAVEOPT) {
                log.debug("option with bad magic {}; closing", Long.toHexString(magic));
                return Optional.empty();
            }
            if (length > MAX_OPTION_BYTES) {
                log.debug("option {} with {} bytes of data; closing", option, length);
                reply(option, REP_ERR_TOO_BIG, "option data too large".getBytes(StandardCharsets.UTF_8));
                return Optional.empty();
            }
            ByteBuffer data = ByteBuffer.allocate((int) length);
            Wire.readExactly(in, data);
            data.flip();

            if (tls != null && tls.required() && !(in instanceof TlsChannel)
                    && option != OPT_STARTTLS && option != OPT_ABORT) {
                if (option == OPT_EXPORT_NAME) {
                    log.debug("EXPORT_NAME before STARTTLS on a server that requires TLS; closing");
                    return Optional.empty(); // this option has no error reply
                }
                error(option, REP_ERR_TLS_REQD, "this server requires TLS: send STARTTLS first");
                continue;
            }
            switch (option) {
                case OPT_STARTTLS -> {
                    if (!startTls(data)) {
                        return Optional.empty();
                    }
                }
                case OPT_EXPORT_NAME -> {
                    return exportName(data);
                }
                case OPT_ABORT -> {
                    try {
                        reply(option, REP_ACK, new byte[0]);
                    } catch (IOException clientAlreadyGone) {
                        // the client may close without waiting for the ACK
                    }
                    return Optional.empty();
                }
                case OPT_LIST -> list(data);
                case OPT_STRUCTURED_REPLY -> {
                    if (data.hasRemaining()) {
                        error(option, REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
                    } else {
                        structured = true;
                        reply(option, REP_ACK, new byte[0]);
                    }
                }
                case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> metaContext(option, data);
                case OPT_INFO, OPT_GO -> {
                    Optional<NbdExport> chosen = infoOrGo(option, data);
                    if (option == OPT_GO && chosen.isPresent()) {
                        return chosen;
                    }
                }
                default -> error(option, REP_ERR_UNSUP, "option " + option + " is not supported");
            }
        }
    }

    /** STARTTLS: upgrades the connection; false when the TLS handshake failed (the connection is done). */
    private boolean startTls(ByteBuffer data) throws IOException {
        if (tls == null) {
            error(OPT_STARTTLS, REP_ERR_UNSUP, "this server offers no TLS");
            return true;
        }
        if (in instanceof TlsChannel) {
            error(OPT_STARTTLS, REP_ERR_INVALID, "TLS is already on");
            return true;
        }
        if (data.hasRemaining()) {
            error(OPT_STARTTLS, REP_ERR_INVALID, "STARTTLS takes no data");
            return true;
        }
        reply(OPT_STARTTLS, REP_ACK, new byte[0]);
        TlsChannel secure;
        try {
            secure = TlsChannel.accept(socket, tls.serverEngine());
        } catch (IOException e) {
            log.warn("NBD client {} failed the TLS handshake: {}", peer(), e.getMessage());
            return false;
        }
        in = secure;
        channel = secure;
        // what was agreed in the clear could have been forged: it counts for nothing now (as the spec advises)
        structured = false;
        allocationExport = null;
        return true;
    }

    private String peer() {
        try {
            return String.valueOf(socket.getRemoteAddress());
        } catch (IOException e) {
            return "(gone)";
        }
    }

    private Optional<NbdExport> exportName(ByteBuffer data) throws IOException {
        String name = StandardCharsets.UTF_8.decode(data).toString();
        NbdExport export = find(name);
        if (export == null) {
            log.debug("EXPORT_NAME for unknown export '{}'; closing", name);
            return Optional.empty(); // this option has no error reply: the protocol says to disconnect
        }
        ByteBuffer reply = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
        reply.putLong(export.image().size()).putShort((short) transmissionFlags(export)).position(reply.capacity()).flip();
        Wire.writeFully(channel, reply);
        return Optional.of(export);
    }

    private void list(ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            error(OPT_LIST, REP_ERR_INVALID, "LIST takes no data");
            return;
        }
        for (NbdExport export : exports.values()) {
            byte[] name = export.name().getBytes(StandardCharsets.UTF_8);
            ByteBuffer entry = ByteBuffer.allocate(4 + name.length).putInt(name.length).put(name);
            reply(OPT_LIST, REP_SERVER, entry.array());
        }
        reply(OPT_LIST, REP_ACK, new byte[0]);
    }

    /**
     * LIST_META_CONTEXT and SET_META_CONTEXT: the only context is {@code base:allocation}. SET replaces the
     * selection (even when it fails) and needs structured replies first; LIST with no query lists every context.
     */
    private void metaContext(int option, ByteBuffer data) throws IOException {
        boolean set = option == OPT_SET_META_CONTEXT;
        if (set) {
            allocationExport = null;
            if (!structured) {
                error(option, REP_ERR_INVALID, "SET_META_CONTEXT needs structured replies first");
                return;
            }
        }
        String name;
        java.util.List<String> queries = new java.util.ArrayList<>();
        try {
            name = string(data);
            long count = Integer.toUnsignedLong(data.getInt());
            for (long i = 0; i < count; i++) {
                queries.add(string(data));
            }
            if (data.hasRemaining()) {
                throw new java.nio.BufferUnderflowException();
            }
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
            error(option, REP_ERR_INVALID, "malformed metadata context request");
            return;
        }
        NbdExport export = find(name);
        if (export == null) {
            error(option, REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return;
        }
        boolean matches = set ? queries.contains(BASE_ALLOCATION)
                : queries.isEmpty() || queries.contains(BASE_ALLOCATION) || queries.contains("base:");
        if (matches) {
            byte[] context = BASE_ALLOCATION.getBytes(StandardCharsets.UTF_8);
            reply(option, REP_META_CONTEXT, ByteBuffer.allocate(4 + context.length)
                    .putInt(set ? BASE_ALLOCATION_ID : 0).put(context).array());
            if (set) {
                allocationExport = export.name();
            }
        }
        reply(option, REP_ACK, new byte[0]);
    }

    /** A length-prefixed UTF-8 string of option data. */
    private static String string(ByteBuffer data) {
        long length = Integer.toUnsignedLong(data.getInt());
        if (length > data.remaining()) {
            throw new IllegalArgumentException("string longer than the option data");
        }
        byte[] bytes = new byte[(int) length];
        data.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private Optional<NbdExport> infoOrGo(int option, ByteBuffer data) throws IOException {
        if (data.remaining() < 6) {
            error(option, REP_ERR_INVALID, "INFO/GO data too short");
            return Optional.empty();
        }
        long nameLength = Integer.toUnsignedLong(data.getInt());
        if (nameLength > data.remaining() - 2) {
            error(option, REP_ERR_INVALID, "export name length exceeds the option data");
            return Optional.empty();
        }
        byte[] nameBytes = new byte[(int) nameLength];
        data.get(nameBytes);
        int requests = Short.toUnsignedInt(data.getShort());
        if (data.remaining() != requests * 2) {
            error(option, REP_ERR_INVALID, "information request count does not match the option length");
            return Optional.empty();
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < requests; i++) {
            int type = Short.toUnsignedInt(data.getShort());
            wantName |= type == INFO_NAME;
            wantDescription |= type == INFO_DESCRIPTION;
        }
        String name = new String(nameBytes, StandardCharsets.UTF_8);
        NbdExport export = find(name);
        if (export == null) {
            error(option, REP_ERR_UNKNOWN, "no export named '" + name + "'; exports: " + String.join(", ", exports.keySet()));
            return Optional.empty();
        }

        reply(option, REP_INFO, ByteBuffer.allocate(12).putShort((short) INFO_EXPORT)
                .putLong(export.image().size()).putShort((short) transmissionFlags(export)).array());
        if (wantName) {
            byte[] exportName = export.name().getBytes(StandardCharsets.UTF_8);
            reply(option, REP_INFO, ByteBuffer.allocate(2 + exportName.length)
                    .putShort((short) INFO_NAME).put(exportName).array());
        }
        if (wantDescription && !export.description().isEmpty()) {
            byte[] description = export.description().getBytes(StandardCharsets.UTF_8);
            reply(option, REP_INFO, ByteBuffer.allocate(2 + description.length)
                    .putShort((short) INFO_DESCRIPTION).put(description).array());
        }
        // Sent whether asked or not (the spec allows it): clients that understand it size their requests by it.
        reply(option, REP_INFO, ByteBuffer.allocate(14).putShort((short) INFO_BLOCK_SIZE)
                .putInt(MIN_BLOCK).putInt(PREFERRED_BLOCK).putInt(maxPayload).array());
        reply(option, REP_ACK, new byte[0]);
        return Optional.of(export);
    }

    /** The empty name selects the default export: the first one. */
    private NbdExport find(String name) {
        if (name.isEmpty() && !exports.isEmpty()) {
            return exports.values().iterator().next();
        }
        return exports.get(name);
    }

    static int transmissionFlags(NbdExport export) {
        int flags = TFLAG_HAS_FLAGS | TFLAG_SEND_FLUSH | TFLAG_SEND_FUA | TFLAG_CAN_MULTI_CONN | TFLAG_SEND_CACHE;
        if (export.readOnly()) {
            flags |= TFLAG_READ_ONLY;
        } else {
            flags |= TFLAG_SEND_TRIM | TFLAG_SEND_WRITE_ZEROES;
        }
        return flags;
    }

    private void error(int option, int type, String message) throws IOException {
        log.debug("option {}: {}", option, message);
        reply(option, type, message.getBytes(StandardCharsets.UTF_8));
    }

    private void reply(int option, int type, byte[] data) throws IOException {
        ByteBuffer reply = ByteBuffer.allocate(20 + data.length);
        reply.putLong(OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(data.length).put(data).flip();
        Wire.writeFully(channel, reply);
    }
}
