package io.tmount.export;

import io.tmount.TmountException;
import io.tmount.image.BuildImages;
import io.tmount.nbd.NbdListen;
import io.tmount.os.Descriptors;
import io.tmount.os.Folders;
import io.tmount.serve.Served;
import io.tmount.serve.ServedImages;
import io.tmount.serve.Serving;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.HashSet;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds (or raw image files) served over NBD without mounting them, each by an NBD server of its own: streamed
 * through the shared chunk caches, with a copy-on-write overlay in {@code dir/ID/overlay} unless read-only. Exports
 * live as long as the process that made them; an earlier process's leftovers (overlays, socket files) are removed
 * at start.
 */
public final class Exports implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Exports.class);
    private static final String SOCKET_RECORD = "socket";
    /** The folders made for the socket, deepest first, one per line: removed with the export when left empty. */
    private static final String FOLDERS_RECORD = "socket-folders";

    private final ServedImages served;
    private final Path dir;
    private final Map<String, Active> byName = new LinkedHashMap<>();
    /** Folders exports made for their sockets and could not remove yet, since another export's socket is below. */
    private final Set<Path> madeFoldersLeft = new HashSet<>();
    private final Descriptors descriptors = Descriptors.ofThisProcess();
    private boolean closed; // guarded by this

    /** What an export holds (its server and overlay files, a connection or two) and its set-up takes. */
    private static final int EXPORT_DESCRIPTORS = 8;

    /** One running export and what to release, in order. */
    private record Active(ExportInfo info, Served served, Path stateDir, Path socket, List<Path> madeFolders) {
    }

    /** {@code served}: how images are served (its payload budget is the one all exports of this process share). */
    public Exports(ServedImages served, Path dir) {
        this.served = served;
        this.dir = dir;
    }

    /**
     * Serves a build (or a raw image file) over NBD without mounting it, streamed through the shared chunk caches,
     * writes going to a copy-on-write overlay unless read-only; until {@link #unexport} or close.
     */
    public synchronized ExportInfo export(ExportSource source, ExportOptions options) {
        if (closed) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE, "exports are shutting down");
        }
        descriptors.require(EXPORT_DESCRIPTORS, "start another export");
        String name = options.name() != null ? options.name() : switch (source) {
            case ExportSource.Build build -> build.build().value();
            case ExportSource.RawFile raw -> raw.image().getFileName().toString();
        };
        if (name.indexOf('\0') >= 0 || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 4096) {
            // NBD's limit; the name itself is not echoed: it may be 4 KiB of anything
            throw TmountException.invalid("an export name must be at most 4096 bytes without NUL (this one has %d "
                    + "bytes)", name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        }
        if (byName.containsKey(name)) {
            throw TmountException.conflict("an export named '%s' already exists (%s); choose another --name", name,
                    byName.get(name).info().uri());
        }
        Path socket = options.listen() instanceof NbdListen.Unix unix ? unix.socket().toAbsolutePath().normalize() : null;
        if (socket != null) {
            checkSocketPath(socket);
        }
        String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()).substring(4);
        Path stateDir = dir.resolve(id);
        Served server = null;
        List<Path> madeFolders = new ArrayList<>();
        try {
            Files.createDirectories(stateDir);
            if (socket != null) {
                Files.writeString(stateDir.resolve(SOCKET_RECORD), socket.toString()); // for cleanup after a crash
                makeParents(socket, madeFolders);
                Files.write(stateDir.resolve(FOLDERS_RECORD), madeFolders.stream().map(Path::toString).toList());
            }
            NbdListen listen = socket != null ? NbdListen.unix(socket) : options.listen();
            Path overlayDir = stateDir.resolve("overlay");
            String description = switch (source) {
                case ExportSource.Build build -> "template " + build.template() + " build " + build.build();
                case ExportSource.RawFile raw -> "image " + raw.image();
            };
            Serving serving = (options.readOnly()
                    ? Serving.readOnly(name, description, listen, options.limits())
                    : Serving.writable(name, description, listen, options.limits(), overlayDir)).withTls(options.tls());
            if (listen instanceof NbdListen.Tcp tcp && !tcp.address().getAddress().isLoopbackAddress()
                    && options.tls() == null) {
                log.warn("export '{}' listens on {} without TLS: anyone who can reach it reads (and may write) the "
                        + "image in the clear; give it --tls-cert and --tls-key", name, tcp);
            }
            server = switch (source) {
                case ExportSource.Build build -> {
                    BuildImages images = served.images();
                    images.store().resolve(build.template(), build.build());
                    yield served.serve(images.layout(build.build()), serving);
                }
                case ExportSource.RawFile raw -> {
                    if (!Files.isRegularFile(raw.image())) {
                        throw TmountException.notFound("no image file %s", raw.image());
                    }
                    yield served.serve(raw.image(), serving);
                }
            };
            ExportInfo info = new ExportInfo(id, name,
                    source instanceof ExportSource.Build b ? b.template() : null,
                    source instanceof ExportSource.Build b ? b.build() : null,
                    source instanceof ExportSource.RawFile r ? r.image().toAbsolutePath() : null,
                    options.tls() == null ? server.endpoint().uri() : server.endpoint().uri().replaceFirst("^nbd", "nbds"),
                    options.readOnly(), options.readOnly() ? null : overlayDir, Instant.now());
            byName.put(name, new Active(info, server, stateDir, socket, madeFolders));
            log.info("exporting {} as '{}' at {} ({}{})", description, name, info.uri(),
                    options.readOnly() ? "read-only" : "writable, into an overlay",
                    options.tls() == null ? "" : options.tls().required() ? ", TLS required" : ", TLS offered");
            return info;
        } catch (IOException | RuntimeException e) {
            release(new Active(null, server, stateDir, socket, madeFolders), e);
            if (e instanceof TmountException te) {
                throw te;
            }
            throw TmountException.failed(e, "cannot export %s", name);
        }
    }

    /** Refuses a path that is something other than a stale socket, or a socket someone answers on. */
    private void checkSocketPath(Path socket) {
        for (Active active : byName.values()) {
            if (socket.equals(active.socket())) {
                throw TmountException.conflict("export '%s' already listens on %s", active.info().name(), socket);
            }
        }
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException absent) {
            return;
        }
        if (!attributes.isOther()) {
            throw TmountException.conflict("%s exists and is not a socket; choose another --socket path", socket);
        }
        try (SocketChannel ignored = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            throw TmountException.conflict("something already listens on %s", socket);
        } catch (IOException stale) {
            // a socket nobody answers on: the NBD server replaces it
        }
    }

    /** Stops the export, drops its overlay and removes its socket. */
    public synchronized void unexport(String name) {
        Active active = byName.get(name);
        if (active == null) {
            throw TmountException.notFound("no export named '%s'%s", name, byName.isEmpty() ? ""
                    : " (exports: " + String.join(", ", byName.keySet()) + ")");
        }
        TmountException failure = new TmountException(TmountException.Kind.FAILED, "cannot stop export " + name);
        release(active, failure);
        byName.remove(name);
        if (failure.getSuppressed().length > 0) {
            throw failure;
        }
        log.info("stopped export '{}' ({})", name, active.info().uri());
    }

    public synchronized List<ExportInfo> list() {
        return byName.values().stream().map(Active::info).sorted(Comparator.comparing(ExportInfo::createdAt)).toList();
    }

    private void release(Active active, Throwable onto) {
        List<AutoCloseable> parts = new ArrayList<>();
        if (active.served() != null) {
            parts.add(active.served());
        }
        parts.add(() -> Folders.deleteTree(active.stateDir()));
        for (AutoCloseable part : parts) {
            try {
                part.close();
            } catch (Exception e) {
                onto.addSuppressed(e);
            }
        }
        madeFoldersLeft.addAll(active.madeFolders());
        try {
            removeIfEmpty(madeFoldersLeft.stream().sorted(Comparator.comparingInt(Path::getNameCount).reversed())
                    .toList());
        } catch (IOException e) {
            onto.addSuppressed(e);
        }
        madeFoldersLeft.removeIf(folder -> !Files.exists(folder));
    }

    /** Removes what exports of an earlier process left: overlays, and socket files nobody listens on any more. */
    public void removeLeftovers() {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> left = Files.newDirectoryStream(dir)) {
            for (Path stateDir : left) {
                try {
                    Path record = stateDir.resolve(SOCKET_RECORD);
                    if (Files.isRegularFile(record)) {
                        removeStaleSocket(Path.of(Files.readString(record).strip()));
                    }
                    Path folders = stateDir.resolve(FOLDERS_RECORD);
                    if (Files.isRegularFile(folders)) {
                        removeIfEmpty(Files.readAllLines(folders).stream().filter(l -> !l.isBlank()).map(Path::of)
                                .toList());
                    }
                    Folders.deleteTree(stateDir);
                    log.warn("removed export {} left by an earlier run", stateDir.getFileName());
                } catch (IOException e) {
                    log.error("cannot remove export {} left by an earlier run: {}", stateDir, e.getMessage());
                }
            }
        } catch (IOException e) {
            log.error("cannot list the exports an earlier run left in {}: {}", dir, e.getMessage());
        }
    }

    /** Creates the socket's missing parent folders, adding each one made to {@code made}, deepest first. */
    private static void makeParents(Path socket, List<Path> made) throws IOException {
        List<Path> missing = new ArrayList<>();
        for (Path folder = socket.getParent(); folder != null && !Files.exists(folder); folder = folder.getParent()) {
            missing.add(folder);
        }
        for (Path folder : missing.reversed()) {
            Files.createDirectory(folder);
            made.addFirst(folder);
        }
    }

    /** Removes folders exports made for their sockets, deepest first, leaving any that something else now uses. */
    private static void removeIfEmpty(List<Path> folders) throws IOException {
        for (Path folder : folders) {
            try {
                Files.deleteIfExists(folder);
            } catch (java.nio.file.DirectoryNotEmptyException inUse) {
                // another export's socket, or someone's files: it stays
            }
        }
    }

    private static void removeStaleSocket(Path socket) throws IOException {
        try {
            if (Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                Files.delete(socket);
            }
        } catch (java.nio.file.NoSuchFileException gone) {
            // nothing to remove
        }
    }

    /** Stops every export and refuses new ones. */
    @Override
    public synchronized void close() {
        closed = true;
        for (String name : new ArrayList<>(byName.keySet())) {
            try {
                unexport(name);
            } catch (TmountException e) {
                log.warn("{}", e.getMessage());
            }
        }
    }
}
