package io.tmount.store;

/**
 * A bucket of retry tokens shared by a store's reads, as the AWS SDK's standard retry strategy keeps one: a retry
 * costs tokens (more after a timeout or connection error); a request that succeeds gives back what its retries took,
 * or one token if it needed none.
 * When a store stays down, the bucket empties and reads fail at their first error instead of each waiting through its
 * backoffs; it refills as requests succeed again.
 */
final class RetryBudget {

    static final int CAPACITY = 500;
    static final int RETRY_COST = 5;
    static final int TIMEOUT_RETRY_COST = 10;

    private int tokens = CAPACITY;

    /** Takes the tokens for one more attempt: how many (to give back if the request then succeeds), 0 if none left. */
    synchronized int takeRetry(boolean afterTimeoutOrConnectionError) {
        int cost = afterTimeoutOrConnectionError ? TIMEOUT_RETRY_COST : RETRY_COST;
        if (tokens < cost) {
            return 0;
        }
        tokens -= cost;
        return cost;
    }

    /** A request succeeded: the tokens its retries took come back, or one if it needed none. */
    synchronized void succeeded(int spent) {
        tokens = Math.min(CAPACITY, tokens + (spent > 0 ? spent : 1));
    }

    synchronized int tokens() {
        return tokens;
    }
}
