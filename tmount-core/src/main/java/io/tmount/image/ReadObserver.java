package io.tmount.image;

/** Told of each read a layered image serves (device offsets), before it is served: for recording what a mount reads. */
@FunctionalInterface
public interface ReadObserver {

    void read(long offset, long length);
}
