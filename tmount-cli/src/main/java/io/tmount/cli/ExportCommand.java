package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.daemon.Daemon;
import io.tmount.daemon.DaemonClient;
import io.tmount.daemon.ExportRequest;
import io.tmount.daemon.ExportRequests;
import io.tmount.export.ExportInfo;
import io.tmount.export.ExportOptions;
import io.tmount.host.TmountHost;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "export", description = {
        "Serve a template build (or, with --image, a raw image file) over NBD without mounting it, until "
                + "`tmount unexport NAME` (through the daemon) or until stopped (--foreground).",
        "Writes go to a copy-on-write overlay unless --read-only; the build or file never changes."})
final class ExportCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "TEMPLATE", description = "Template id.")
    String template;

    @Parameters(index = "1", arity = "0..1", paramLabel = "BUILD", description = "Build id.")
    String build;

    @Option(names = "--image", paramLabel = "FILE", description = "Export this raw image file instead of a build.")
    String image;

    @Option(names = "--socket", paramLabel = "PATH", description = "Listen on this unix socket (mode 0600).")
    String socket;

    @Option(names = "--tcp", paramLabel = "HOST:PORT", description = "Listen on TCP; loopback only unless --allow-remote.")
    String tcp;

    @Option(names = "--allow-remote", description = "Allow a TCP address other than loopback (NBD has no authentication).")
    boolean allowRemote;

    @Option(names = {"-r", "--read-only"}, description = "Refuse writes.")
    boolean readOnly;

    @Option(names = "--name", paramLabel = "NAME", description = "Export name (default: the build id, or the file name).")
    String name;

    @Option(names = "--max-connections", paramLabel = "N", description = "Clients connected at once; more are "
            + "closed at once, and a client must finish its handshake within 10 s (default: 64).")
    int maxConnections;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "Offer TLS (NBD's STARTTLS) with this X.509 "
            + "certificate (PEM; the chain after it).")
    String tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "The certificate's private key (PEM, unencrypted: "
            + "PKCS#8, or PKCS#1 RSA).")
    String tlsKey;

    @Option(names = "--tls", paramLabel = "MODE", description = "on (offered: clients choose; the default with "
            + "--tls-cert) or require (a client that does not upgrade is refused).")
    String tls;

    @Option(names = "--tls-ca", paramLabel = "FILE", description = "The CA (PEM) whose certificates clients must show "
            + "with --tls-verify-peer.")
    String tlsCa;

    @Option(names = "--tls-verify-peer", description = "Admit only clients with a certificate --tls-ca signed "
            + "(negotiates TLS 1.2, which GnuTLS clients need for client certificates).")
    boolean tlsVerifyPeer;

    @Option(names = "--foreground", description = "Serve from this process until interrupted, without a daemon "
            + "(the state dir must not be in use by one).")
    boolean foreground;

    @Option(names = "--json", description = "Print the export's details as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        String imagePath = image == null ? null : java.nio.file.Path.of(image).toAbsolutePath().toString();
        String socketPath = socket == null ? null : java.nio.file.Path.of(socket).toAbsolutePath().toString();
        tlsCert = absolute(tlsCert);
        tlsKey = absolute(tlsKey);
        tlsCa = absolute(tlsCa);
        if (allowRemote && tlsCert == null) {
            spec.commandLine().getErr().println("warning: --allow-remote without TLS: anyone who can reach the port "
                    + "reads the image in the clear" + (readOnly ? "" : " and can write to it")
                    + "; give --tls-cert and --tls-key (and --tls require)");
        }
        if (foreground) {
            return serveHere(imagePath, socketPath);
        }
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            print(client.export(new ExportRequest(template, build, imagePath, socketPath, tcp, readOnly, name,
                    allowRemote, maxConnections, tls, tlsCert, tlsKey, tlsCa, tlsVerifyPeer)));
        }
        return 0;
    }

    private static String absolute(String file) {
        return file == null ? null : java.nio.file.Path.of(file).toAbsolutePath().toString();
    }

    private void print(ExportInfo info) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Output.json(out, info);
        } else {
            out.println(info.uri());
        }
        out.flush();
    }

    /** The export in this process, until SIGINT or SIGTERM; then everything is released. */
    private int serveHere(String imagePath, String socketPath) throws Exception {
        Settings settings = main.settings();
        var source = ExportRequests.source(template, build, imagePath);
        var options = new ExportOptions(ExportRequests.listen(socketPath, tcp, allowRemote), readOnly, name,
                maxConnections, ExportRequests.tls(tls, tlsCert, tlsKey, tlsCa, tlsVerifyPeer));
        TemplateStore store = settings.openStore();
        TmountHost host;
        try {
            host = TmountHost.open(settings.mountManagerConfig(store, settings.nbdPoolSize()), Daemon.DEFAULT_BUILDS_DIR);
        } catch (TmountException e) {
            store.close();
            if (e.kind() == TmountException.Kind.CONFLICT) {
                throw new TmountException(e.kind(), e.getMessage() + "; or drop --foreground to export through it", e);
            }
            throw e;
        }
        try {
            print(host.exports().export(source, options));
        } catch (RuntimeException e) {
            host.close();
            store.close();
            throw e;
        }
        UntilSignal.await(() -> {
            host.close();
            store.close();
        });
        return 0;
    }
}
