package io.tmount.nbd;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

class BufferPoolTest {

    @Test
    void acquire_givesADirectBufferOfThePowerOfTwoClass_limitedToTheSize() {
        BufferPool pool = new BufferPool(1 << 20, 4 << 20);
        ByteBuffer buffer = pool.acquire(5000);
        assertThat(buffer.isDirect()).isTrue();
        assertThat(buffer.capacity()).isEqualTo(8192);
        assertThat(buffer.limit()).isEqualTo(5000);
        assertThat(pool.acquire(1).capacity()).isEqualTo(4096);
        assertThat(pool.acquire(1 << 20).capacity()).isEqualTo(1 << 20);
    }

    @Test
    void released_buffersAreReused_clearedAndRelimited() {
        BufferPool pool = new BufferPool(1 << 20, 4 << 20);
        ByteBuffer first = pool.acquire(4096);
        first.position(100);
        pool.release(first);
        ByteBuffer again = pool.acquire(3000);
        assertThat(again).isSameAs(first);
        assertThat(again.position()).isZero();
        assertThat(again.limit()).isEqualTo(3000);
    }

    @Test
    void idleBuffers_ofAllClassesTogether_stayWithinTheBudget() {
        BufferPool pool = new BufferPool(1 << 20, (2 << 20) + 8192);
        ByteBuffer a = pool.acquire(1 << 20);
        ByteBuffer b = pool.acquire(1 << 20);
        ByteBuffer c = pool.acquire(1 << 20);
        ByteBuffer small = pool.acquire(8192);
        ByteBuffer tooMany = pool.acquire(4096);
        pool.release(a);
        pool.release(b);
        pool.release(c); // over the budget: dropped
        pool.release(small);
        pool.release(tooMany); // so is this, though its class holds nothing
        assertThat(pool.idleBytes()).isEqualTo((2 << 20) + 8192);
        ByteBuffer first = pool.acquire(1 << 20);
        ByteBuffer second = pool.acquire(1 << 20);
        ByteBuffer third = pool.acquire(1 << 20);
        // identity, not equals(): ByteBuffer.equals compares contents
        assertThat(first == a || first == b).isTrue();
        assertThat(second == a || second == b).isTrue();
        assertThat(third != a && third != b && third != c).isTrue();
        assertThat(pool.acquire(8192)).isSameAs(small);
        assertThat(pool.acquire(4096)).isNotSameAs(tooMany);
        assertThat(pool.idleBytes()).isZero();
    }

    @Test
    void buffersThePoolLetsGo_areFreedAtOnce_andAllOfThemOnceItIsClosed() {
        BufferPool pool = new BufferPool(1 << 20, 1 << 20);
        ByteBuffer kept = pool.acquire(1 << 20);
        ByteBuffer dropped = pool.acquire(1 << 20);
        ByteBuffer inUse = pool.acquire(4096);
        assertThat(pool.allocatedBytes()).isEqualTo((2L << 20) + 4096);
        pool.release(kept);
        pool.release(dropped); // over what the pool keeps: freed, not left for a garbage collection
        assertThat(pool.allocatedBytes()).isEqualTo((1L << 20) + 4096);
        pool.close();
        assertThat(pool.allocatedBytes()).isEqualTo(4096);
        pool.release(inUse); // coming back after the close: freed
        assertThat(pool.allocatedBytes()).isZero();
        assertThat(pool.idleBytes()).isZero();
    }
}
