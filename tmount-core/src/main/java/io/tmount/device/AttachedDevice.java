package io.tmount.device;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** A block device connected to an NBD export; closing disconnects it and releases everything the attach made. */
public interface AttachedDevice extends AutoCloseable {

    Path devicePath();

    /** The device number: N of /dev/nbdN or /dev/loopN. */
    int slot();

    DeviceRecord record();

    /**
     * What is wrong with the device while it is attached, if anything the host shows (its helper process died, the
     * kernel dropped it); reads and writes of such a device fail until it is unmounted and mounted again.
     */
    default Optional<String> problem() {
        return Optional.empty();
    }

    @Override
    void close() throws IOException;
}
