package io.tmount.nbd;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class InlineGateTest {

    private static final long MIB = 1 << 20;

    @Test
    void staysOpenWhileRequestsAreQuickAndClosesWhenTheyAreSlowOnAverage() {
        InlineGate gate = new InlineGate();
        for (int i = 0; i < 100; i++) {
            assertTrue(gate.inline());
            gate.measured(100_000, MIB); // 1 MiB in 100 us: faster than copying
        }
        gate.measured(200_000, 4096); // one request of 200 us
        assertTrue(gate.open(), "one somewhat slow request does not close it");
        int slow = 1;
        while (gate.open()) {
            gate.measured(200_000, 4096);
            slow++;
        }
        assertTrue(slow > 2 && slow < 20, "several do: " + slow);
    }

    @Test
    void closedItProbesEveryNthRequestAndOneQuickProbeOpensIt() {
        InlineGate gate = new InlineGate();
        for (int i = 0; i < 50; i++) {
            gate.measured(5_000_000, 4096);
        }
        assertFalse(gate.open());
        for (int round = 0; round < 3; round++) {
            for (int i = 1; i < InlineGate.PROBE_EVERY; i++) {
                assertFalse(gate.inline(), "handed to a thread");
            }
            assertTrue(gate.inline(), "a probe");
            gate.measured(5_000_000, 4096); // still slow
        }
        for (int i = 1; i < InlineGate.PROBE_EVERY; i++) {
            gate.inline();
        }
        assertTrue(gate.inline());
        gate.measured(2_000, 4096); // the storage is quick again
        assertTrue(gate.open());
        assertTrue(gate.inline());
    }
}
