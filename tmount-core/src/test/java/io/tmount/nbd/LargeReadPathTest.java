package io.tmount.nbd;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The choice between sendfile and copying, on a clock of its own: each path given a speed, reads back to back. */
class LargeReadPathTest {

    private static final int READ = 1 << 20;
    private static final long WINDOW = 8L * READ;

    /** Reads {@code count} MiB one after another, each taking as long as its path's speed says (bytes per ns). */
    private static final class Client {
        final LargeReadPath path;
        final double sendfileSpeed;
        final double copySpeed;
        long now = 1_000_000;
        int sendfiles;
        int copies;

        Client(LargeReadPath path, double sendfileSpeed, double copySpeed) {
            this.path = path;
            this.sendfileSpeed = sendfileSpeed;
            this.copySpeed = copySpeed;
        }

        void read(int count) {
            for (int i = 0; i < count; i++) {
                LargeReadPath.Choice choice = path.next(now, READ);
                now += (long) (READ / (choice.sendfile() ? sendfileSpeed : copySpeed));
                if (choice.sendfile()) {
                    sendfiles++;
                } else {
                    copies++;
                }
                if (choice.probe() != null) {
                    choice.probe().answered(now, true);
                }
            }
        }
    }

    @Test
    void probesBothPathsInTurnBeforeDeciding() {
        Client client = new Client(new LargeReadPath(WINDOW, 1L << 40, Long.MAX_VALUE), 2.0, 1.0);
        client.read(32);
        assertNull(client.path.rates(), "nothing decided before four probes");
        assertEquals(16, client.sendfiles);
        assertEquals(16, client.copies);
    }

    @Test
    void copiesWhereCopyingIsClearlyFaster() {
        Client client = new Client(new LargeReadPath(WINDOW, 1L << 40, Long.MAX_VALUE), 1.0, 2.0);
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
        Client client = new Client(new LargeReadPath(WINDOW, 1L << 40, Long.MAX_VALUE), 1.0, 1.15);
        client.read(4 * 8 + 100);
        assertTrue(client.path.rates().sendfile());
        assertEquals(16, client.copies, "two probes of copying, then sendfile only");
    }

    @Test
    void measuresAgainAfterKeepingAChoiceForItsBytes() {
        Client client = new Client(new LargeReadPath(WINDOW, 50L * READ, Long.MAX_VALUE), 1.0, 2.0);
        client.read(33); // four probes of 8 reads; the 33rd read is the first of the choice
        LargeReadPath.Rates first = client.path.rates();
        assertFalse(first.sendfile());
        client.read(48);
        assertSame(first, client.path.rates(), "kept for its bytes");
        Client changed = new Client(client.path, 4.0, 2.0); // the host changed: sendfile is now the faster
        changed.now = client.now;
        changed.read(33);
        assertTrue(changed.path.rates().sendfile(), "measured again, and sendfile won");
        assertNotSame(first, changed.path.rates());
    }

    @Test
    void measuresAgainAfterKeepingAChoiceForItsTime() {
        Client client = new Client(new LargeReadPath(WINDOW, 1L << 40, 100_000_000L), 1.0, 2.0);
        client.read(33);
        LargeReadPath.Rates first = client.path.rates();
        assertNotNull(first);
        client.now += 200_000_000L; // past the keeping time
        client.read(33);
        assertNotSame(first, client.path.rates());
    }

    @Test
    void aPauseWithinAProbeVoidsIt() {
        Client client = new Client(new LargeReadPath(WINDOW, 1L << 40, Long.MAX_VALUE), 1.0, 2.0);
        client.read(12); // the first probe (sendfile), and half of the second (copying)
        client.now += 10 * LargeReadPath.IDLE_NANOS; // the client pauses: a copy probe with this in it would lose
        client.read(100);
        assertFalse(client.path.rates().sendfile(), "the void probe was measured again");
        assertEquals(2.0e9, client.path.rates().copyBytesPerSecond(), 2.0e7);
    }

    @Test
    void aFailedReadVoidsItsProbe() {
        LargeReadPath path = new LargeReadPath(WINDOW, 1L << 40, Long.MAX_VALUE);
        long now = 1;
        for (int i = 0; i < 8; i++) {
            LargeReadPath.Choice choice = path.next(now, READ);
            now += 1_000_000;
            choice.probe().answered(now, i != 3); // one failed read: its probe is measured again
        }
        LargeReadPath.Choice next = path.next(now, READ);
        assertTrue(next.sendfile(), "the failed sendfile probe is repeated, not followed by a copy probe");
    }

    @Test
    void aProbeStartsOnlyWhenTheLastOnesReadsAreAnswered() throws Exception {
        LargeReadPath path = new LargeReadPath(2L * READ, 1L << 40, Long.MAX_VALUE);
        path.next(1, READ).probe().answered(2, true);
        path.next(2, READ).probe().answered(3, true);
        LargeReadPath.Choice copy = path.next(3, READ);
        assertFalse(copy.sendfile());
        LargeReadPath.Choice copy2 = path.next(4, READ);
        Thread reader = Thread.ofVirtual().start(() -> path.next(5, READ));
        reader.join(200);
        assertTrue(reader.isAlive(), "waits for the copies still running");
        copy.probe().answered(6, true);
        copy2.probe().answered(7, true);
        reader.join(5000);
        assertFalse(reader.isAlive());
    }
}
