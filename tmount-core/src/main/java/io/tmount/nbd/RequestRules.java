package io.tmount.nbd;

import static io.tmount.nbd.NbdProtocol.*;

/**
 * The errors a request earns before it runs, as the NBD spec gives them: flags a command does not take, a write to a
 * read-only export, a read larger than the payload limit, a range outside the export (ENOSPC for writes, EINVAL for
 * the rest), a block status without a negotiated context or of no bytes.
 *
 * @param baseAllocation whether the client negotiated base:allocation (block status is refused without it)
 */
record RequestRules(long size, boolean readOnly, int maxPayload, boolean baseAllocation) {

    /** The error for the request, or 0. */
    int errorOf(int type, int flags, long offset, long length) {
        int allowedFlags = switch (type) {
            case CMD_READ, CMD_WRITE, CMD_FLUSH, CMD_TRIM -> CMD_FLAG_FUA;
            case CMD_WRITE_ZEROES -> CMD_FLAG_FUA | CMD_FLAG_NO_HOLE;
            case CMD_CACHE -> 0;
            case CMD_BLOCK_STATUS -> baseAllocation ? CMD_FLAG_REQ_ONE : -1; // no context: EINVAL
            default -> -1;
        };
        if (allowedFlags < 0 || (flags & ~allowedFlags) != 0) {
            return EINVAL;
        }
        if (type == CMD_BLOCK_STATUS && length == 0) {
            return EINVAL;
        }
        boolean writes = type == CMD_WRITE || type == CMD_TRIM || type == CMD_WRITE_ZEROES;
        if (writes && readOnly) {
            return EPERM;
        }
        if (type == CMD_FLUSH) {
            return 0;
        }
        if ((type == CMD_READ || type == CMD_CACHE) && length > maxPayload) {
            return EINVAL;
        }
        if (offset < 0 || offset > size || length > size - offset) {
            return (type == CMD_WRITE || type == CMD_WRITE_ZEROES) ? ENOSPC : EINVAL;
        }
        return 0;
    }
}
