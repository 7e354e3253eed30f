package io.tmount.nbd;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

import static org.junit.jupiter.api.Assertions.*;

/** The choice between sendfile and copying, on a clock of its own: each path given a speed, reads back to back. */
class LargeReadPathTest {

    private static final int READ = 1 << 20;
    private static final long WINDOW = 8L * READ;

    /** A clock the test moves. */
    private static final class Clock implements LongSupplier {
        long now = 1_000_000;

        @Override
        public long getAsLong() {
            return now;
        }
    }

    private static LargeReadPath path(Clock clock, long keepBytes, long keepNanos) {
        return new LargeReadPath(WINDOW, keepBytes, keepNanos, clock, false);
    }

    /** Reads {@code count} MiB one after another, each taking as long as its path's speed says (bytes per ns). */
    private static final class Client {
        final Clock clock;
        final LargeReadPath path;
        double sendfileSpeed;
        double copySpeed;
        int sendfiles;
        int copies;

        Client(long keepBytes, long keepNanos, double sendfileSpeed, double copySpeed) {
            this.clock = new Clock();
            this.path = path(clock, keepBytes, keepNanos);
            this.sendfileSpeed = sendfileSpeed;
            this.copySpeed = copySpeed;
        }

        Client(double sendfileSpeed, double copySpeed) {
            this(1L << 40, Long.MAX_VALUE, sendfileSpeed, copySpeed);
        }

        void read(int count) {
            for (int i = 0; i < count; i++) {
                LargeReadPath.Choice choice = path.next(READ);
                clock.now += (long) (READ / (choice.sendfile() ? sendfileSpeed : copySpeed));
                if (choice.sendfile()) {
                    sendfiles++;
                } else {
                    copies++;
                }
                if (choice.probe() != null) {
                    choice.probe().answered(clock.now, true);
                }
                path.readerDone();
            }
        }
    }

    @Test
    void probesBothPathsInTurnBeforeDeciding() {
        Client client = new Client(2.0, 1.0);
        client.read(32);
        assertNull(client.path.rates(), "nothing decided before four probes");
        assertEquals(16, client.sendfiles);
        assertEquals(16, client.copies);
    }

    @Test
    void copiesWhereCopyingIsClearlyFaster() {
        Client client = new Client(1.0, 2.0);
        client.read(4 * 8 + 100);
        LargeReadPath.Rates rates = client.path.rates();
        assertNotNull(rates);
        assertFalse(rates.sendfile());
        assertEquals(2.0e9, rates.copyBytesPerSecond(), 2.0e7);
        assertEquals(1.0e9, rates.sendfileBytesPerSecond(), 1.0e7);
        assertEquals(16, client.sendfiles, "two probes of sendfile, then copying only");
        assertEquals(16 + 100, client.copies);
    }

    @Test
    void keepsSendfileWhenCopyingIsOnlyALittleFaster() {
        Client client = new Client(1.0, 1.15);
        client.read(4 * 8 + 100);
        assertTrue(client.path.rates().sendfile());
        assertEquals(16, client.copies, "two probes of copying, then sendfile only");
    }

    @Test
    void measuresAgainAfterKeepingAChoiceForItsBytes() {
        Client client = new Client(50L * READ, Long.MAX_VALUE, 1.0, 2.0);
        client.read(33); // four probes of 8 reads; the 33rd read is the first of the choice
        LargeReadPath.Rates first = client.path.rates();
        assertFalse(first.sendfile());
        client.read(48);
        assertSame(first, client.path.rates(), "kept for its bytes");
        client.sendfileSpeed = 4.0; // the host changed: sendfile is now the faster
        client.read(33);
        assertTrue(client.path.rates().sendfile(), "measured again, and sendfile won");
        assertNotSame(first, client.path.rates());
    }

    @Test
    void measuresAgainAfterKeepingAChoiceForItsTime() {
        Client client = new Client(1L << 40, 100_000_000L, 1.0, 2.0);
        client.read(33);
        LargeReadPath.Rates first = client.path.rates();
        assertNotNull(first);
        client.clock.now += 200_000_000L; // past the keeping time
        client.read(33);
        assertNotSame(first, client.path.rates());
    }

    @Test
    void aPauseWithinAProbeVoidsIt() {
        Client client = new Client(1.0, 2.0);
        client.read(12); // the first probe (sendfile), and half of the second (copying)
        client.clock.now += 10 * LargeReadPath.IDLE_NANOS; // the client pauses: a copy probe with this in it would lose
        client.read(100);
        assertFalse(client.path.rates().sendfile(), "the void probe was measured again");
        assertEquals(2.0e9, client.path.rates().copyBytesPerSecond(), 2.0e7);
    }

    @Test
    void aConnectionsFirstWindowIsAWarmUpBySendfileNotCounted() {
        Clock clock = new Clock();
        LargeReadPath path = new LargeReadPath(WINDOW, 1L << 40, Long.MAX_VALUE, clock, true);
        for (int i = 0; i < 8 + 32; i++) {
            LargeReadPath.Choice choice = path.next(READ);
            assertTrue(i >= 8 || choice.sendfile(), "the warm-up is sent by sendfile");
            // the warm-up is slow (a client starting, code not yet compiled): it must not count
            clock.now += i < 8 ? 100_000_000 : choice.sendfile() ? 1_000_000 : 500_000;
            choice.probe().answered(clock.now, true);
            path.readerDone();
        }
        path.next(READ);
        assertEquals(1 << 20, path.rates().sendfileBytesPerSecond() / 1000, 1, "the warm-up not counted");
    }

    @Test
    void aFailedReadVoidsItsProbe() {
        Clock clock = new Clock();
        LargeReadPath path = path(clock, 1L << 40, Long.MAX_VALUE);
        for (int i = 0; i < 8; i++) {
            LargeReadPath.Choice choice = path.next(READ);
            clock.now += 1_000_000;
            choice.probe().answered(clock.now, i != 3); // one failed read: its probe is measured again
            path.readerDone();
        }
        LargeReadPath.Choice next = path.next(READ);
        assertTrue(next.sendfile(), "the failed sendfile probe is repeated, not followed by a copy probe");
    }

    @Test
    void aPauseRightAfterAProbeEndsDoesNotVoidIt() {
        Client client = new Client(1.0, 2.0);
        client.read(8); // a whole sendfile probe
        client.clock.now += 10 * LargeReadPath.IDLE_NANOS;
        client.read(1); // the first of the copy probe
        assertEquals(1, client.copies, "the sendfile probe counted; copying is measured next");
    }

    @Test
    void copiesKeptAfterTheChoiceAreAnsweredBeforeTheNextMeasurementStarts() throws Exception {
        Clock clock = new Clock();
        LargeReadPath path = new LargeReadPath(WINDOW, 4L * READ, Long.MAX_VALUE, clock, false);
        for (int i = 0; i < 32; i++) { // four probes: sendfile 1 MiB/ms, copying 2
            LargeReadPath.Choice choice = path.next(READ);
            clock.now += choice.sendfile() ? 1_000_000 : 500_000;
            choice.probe().answered(clock.now, true);
            path.readerDone();
        }
        LargeReadPath.Choice unanswered = path.next(READ); // copying chosen; this copy is still running
        assertFalse(unanswered.sendfile());
        Thread reader = Thread.ofVirtual().start(() -> {
            for (int k = 0; k < 2; k++) { // two more kept copies, answered at once
                LargeReadPath.Choice kept = path.next(READ);
                kept.probe().answered(clock.now, true);
            }
            path.next(READ); // the keeping is over: measuring again waits for the copy still running
        });
        reader.join(300);
        assertTrue(reader.isAlive(), "the next measurement waits for the copy still running");
        unanswered.probe().answered(clock.now, true);
        reader.join(5000);
        assertFalse(reader.isAlive());
    }

    @Test
    void aProbeStartsOnlyWhenTheLastOnesReadsAreAnsweredAndTimesOnlyItsOwn() throws Exception {
        Clock clock = new Clock();
        LargeReadPath path = new LargeReadPath(2L * READ, 1L << 40, Long.MAX_VALUE, clock, false);
        for (int i = 0; i < 2; i++) {
            path.next(READ).probe().answered(clock.now += 1_000_000, true); // sendfile: 1 MiB a ms
        }
        LargeReadPath.Choice copy = path.next(READ);
        assertFalse(copy.sendfile());
        LargeReadPath.Choice copy2 = path.next(READ);
        AtomicReference<LargeReadPath.Choice> third = new AtomicReference<>();
        Thread reader = Thread.ofVirtual().start(() -> third.set(path.next(READ)));
        reader.join(200);
        assertTrue(reader.isAlive(), "waits for the copies still running");
        copy.probe().answered(clock.now += 1_000_000, true);
        clock.now += 50_000_000; // the copies' slow tail: the copy probe's time, not the next probe's
        copy2.probe().answered(clock.now, true);
        reader.join(5000);
        assertFalse(reader.isAlive());
        assertTrue(third.get().sendfile());
        third.get().probe().answered(clock.now += 1_000_000, true);
        path.next(READ).probe().answered(clock.now += 1_000_000, true);
        for (int i = 0; i < 2; i++) {
            path.next(READ).probe().answered(clock.now += 1_000_000, true);
        }
        path.next(READ);
        assertEquals(1 << 20, path.rates().sendfileBytesPerSecond() / 1000, 1, "4 MiB in 4 ms");
    }
}
