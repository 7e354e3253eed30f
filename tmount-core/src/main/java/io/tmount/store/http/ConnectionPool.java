package io.tmount.store.http;

import io.tmount.store.http.HttpConnection.Endpoint;

import javax.net.ssl.SSLContext;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Kept-alive connections to one endpoint, and a watchdog that ends a request when nothing has arrived on its
 * connection for the timeout (a blocking channel read has no timeout of its own).
 */
public final class ConnectionPool implements Closeable {

    private final Endpoint endpoint;
    private final SSLContext tls;
    private final Duration timeout;
    private final int max;
    private final Semaphore permits;
    private final ConcurrentLinkedDeque<HttpConnection> idle = new ConcurrentLinkedDeque<>();
    private final java.util.Set<HttpConnection> busy = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService watchdog;
    private volatile boolean closed;

    /** At most {@code max} connections at once, busy or idle. */
    public ConnectionPool(Endpoint endpoint, SSLContext tls, Duration timeout, int max) {
        this.endpoint = endpoint;
        this.tls = tls;
        this.timeout = timeout;
        this.max = max;
        this.permits = new Semaphore(max);
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().daemon()
                .name("http-watchdog").factory());
        timer.setRemoveOnCancelPolicy(true); // a finished request's check leaves the queue (and its connection) at once
        this.watchdog = timer;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    /**
     * The most recently used idle connection (the least likely to have been closed by the server), or a new one;
     * waits up to the timeout while all {@code max} are in use. Hand it back with {@link #give} or {@link #discard}.
     */
    public HttpConnection take() throws IOException {
        try {
            if (!permits.tryAcquire(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new IOException("all " + max + " connections to " + endpoint.hostHeader() + " stayed busy for "
                        + timeout.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for a connection");
        }
        try {
            if (closed) {
                throw new IOException("the connection pool is closed");
            }
            HttpConnection connection = idle.pollFirst();
            if (connection == null) {
                connection = HttpConnection.open(endpoint, timeout, tls);
            }
            busy.add(connection);
            return connection;
        } catch (IOException | RuntimeException e) {
            permits.release();
            throw e;
        }
    }

    /** Keeps a taken connection for the next request if it can carry one, else closes it. */
    public void give(HttpConnection connection) {
        busy.remove(connection);
        if (!closed && connection.reusable()) {
            idle.offerFirst(connection);
        } else {
            closeQuietly(connection);
        }
        permits.release();
    }

    /** Closes a taken connection. */
    public void discard(HttpConnection connection) {
        busy.remove(connection);
        closeQuietly(connection);
        permits.release();
    }

    /** Closes the idle connections: after one was found closed by the server, the others likely are too. */
    public void dropIdle() {
        for (HttpConnection connection; (connection = idle.pollFirst()) != null; ) {
            closeQuietly(connection);
        }
    }

    /** Watches a request on {@code connection}: aborted once nothing arrives for the timeout, until closed. */
    public Watch watch(HttpConnection connection) {
        return new Watch(connection);
    }

    @Override
    public void close() {
        closed = true;
        dropIdle();
        watchdog.shutdownNow();
        for (HttpConnection connection : busy) {
            connection.abort(); // a request still running ends now: without the watchdog nothing else would end it
        }
    }

    /** A running request's watch. */
    public final class Watch implements AutoCloseable, Runnable {
        private final HttpConnection connection;
        private volatile ScheduledFuture<?> next;
        private volatile boolean done;

        private Watch(HttpConnection connection) {
            this.connection = connection;
            connection.touch();
            schedule(timeout.toNanos());
        }

        /** Locked against {@link #close}: once the request's watch is closed, its connection is never aborted. */
        @Override
        public synchronized void run() {
            if (done) {
                return;
            }
            long quiet = System.nanoTime() - connection.lastProgress();
            if (quiet >= timeout.toNanos()) {
                connection.abort();
            } else {
                schedule(timeout.toNanos() - quiet);
            }
        }

        private void schedule(long nanos) {
            try {
                next = watchdog.schedule(this, nanos, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                connection.abort(); // the pool closed under the request
            }
        }

        @Override
        public synchronized void close() {
            done = true;
            ScheduledFuture<?> pending = next;
            if (pending != null) {
                pending.cancel(false);
            }
        }
    }

    private static void closeQuietly(HttpConnection connection) {
        try {
            connection.close();
        } catch (IOException e) {
            // nothing to keep
        }
    }
}
