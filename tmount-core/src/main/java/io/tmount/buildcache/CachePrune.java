package io.tmount.buildcache;

import io.tmount.TmountException;
import io.tmount.image.BuildLayout;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.BuildSummary;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Removes build cache entries by age or to fit a size, and the builds they made, except a build that another
 * build's chain still reads from or names as its parent: that build, and its entry, stay (a later prune, once the
 * builds over it are gone, removes them). The builds to delete are first noted in the store ({@code
 * tmount-build-cache/.pruning/BUILD}), then their entries go (so no builder finds an entry whose build is half gone),
 * then the builds, the ones over others first, each metadata first, then the notes: a prune cut short is finished by
 * the next one. Not meant to run while builds that may use the entries run.
 */
public final class CachePrune {

    private static final Logger log = LoggerFactory.getLogger(CachePrune.class);

    /** Which entries to remove: unused for longer than {@code olderThan}, or beyond the most recently used {@code keepBytes}. */
    public record Rule(Duration olderThan, Long keepBytes) {
        public Rule {
            if ((olderThan == null) == (keepBytes == null)) {
                throw TmountException.invalid("prune by age or by size: give one of --older-than and --keep-bytes");
            }
            if (olderThan != null && olderThan.isNegative() || keepBytes != null && keepBytes < 0) {
                throw TmountException.invalid("--older-than and --keep-bytes cannot be negative");
            }
        }
    }

    /** What a prune did: entries removed, entries kept because other builds read from their builds, bytes freed. */
    public record Result(List<CacheEntry> removed, List<CacheEntry> inUse, List<BuildId> deletedBuilds, long freedBytes) {
    }

    /** Where the builds a prune is deleting are noted, for the next prune to finish if this one is cut short. */
    static final String PRUNING = BuildCache.FOLDER + "/.pruning";

    private final BuildCache cache;

    public CachePrune(BuildCache cache) {
        this.cache = cache;
    }

    public Result prune(Rule rule) {
        TemplateStore store = cache.store();
        finishEarlier(store);
        List<CacheEntry> entries = cache.list(null); // most recently used first
        List<CacheEntry> candidates = candidates(entries, rule);
        Set<CacheEntry> chosen = new HashSet<>(candidates);
        // a build goes only when every entry naming it goes, and it is an entry's own (not a parent it left as is)
        Set<BuildId> deletable = new LinkedHashSet<>();
        for (CacheEntry entry : candidates) {
            if (entry.ownBuild()) {
                deletable.add(entry.build());
            }
        }
        for (CacheEntry entry : entries) {
            if (!chosen.contains(entry)) {
                deletable.remove(entry.build());
            }
        }
        Map<BuildId, Set<BuildId>> uses = uses(store);
        // keep what any build that stays reads from or descends from, until nothing changes
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Map.Entry<BuildId, Set<BuildId>> build : uses.entrySet()) {
                if (deletable.contains(build.getKey())) {
                    continue;
                }
                for (BuildId used : build.getValue()) {
                    changed |= deletable.remove(used);
                }
            }
        }
        List<BuildId> order = childrenFirst(deletable, uses);
        List<CacheEntry> removed = new ArrayList<>();
        List<CacheEntry> inUse = new ArrayList<>();
        try {
            for (BuildId build : order) {
                store.objects().put(PRUNING + "/" + build.value(), new byte[0]);
            }
            for (CacheEntry entry : candidates) {
                // an entry that names a build it did not make (a step that changed nothing) holds nothing: it goes
                boolean goes = deletable.contains(entry.build()) || !entry.ownBuild();
                if (goes) {
                    cache.remove(entry);
                    removed.add(entry);
                } else {
                    inUse.add(entry);
                }
            }
            for (BuildId build : order) {
                store.deleteBuild(build);
                store.objects().delete(PRUNING + "/" + build.value());
            }
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot prune the build cache of %s", store.url());
        }
        long freed = 0;
        Map<BuildId, Long> sizes = new HashMap<>();
        for (CacheEntry entry : candidates) {
            sizes.put(entry.build(), entry.bytes());
        }
        for (BuildId build : order) {
            freed += sizes.getOrDefault(build, 0L);
        }
        log.info("pruned the build cache of {}: {} entries and {} builds removed ({} bytes), {} entries kept in use",
                store.url(), removed.size(), order.size(), freed, inUse.size());
        return new Result(removed, inUse, order, freed);
    }

    /**
     * Finishes what an earlier prune noted and did not get to (it was cut short): the entries naming those builds go
     * first, then each build that no other build in the store reads from or names as its parent (one may have been
     * built on since, through an entry that prune had not removed yet), then the notes.
     */
    private void finishEarlier(TemplateStore store) {
        try {
            List<String> notes = store.objects().keys(PRUNING);
            if (notes.isEmpty()) {
                return;
            }
            Set<BuildId> noted = new LinkedHashSet<>();
            for (String note : notes) {
                noted.add(BuildId.of(note.substring(note.lastIndexOf('/') + 1)));
            }
            for (CacheEntry entry : cache.list(null)) {
                if (noted.contains(entry.build())) {
                    cache.remove(entry);
                }
            }
            Map<BuildId, Set<BuildId>> uses = uses(store);
            for (BuildId build : childrenFirst(noted, uses)) {
                boolean needed = uses.entrySet().stream().anyMatch(u -> !noted.contains(u.getKey())
                        && u.getValue().contains(build));
                if (needed) {
                    log.warn("an earlier prune was cut short before deleting build {}, which a build made since uses: "
                            + "it stays", build);
                } else {
                    log.warn("finishing the deletion of build {}, which an earlier prune was cut short in", build);
                    store.deleteBuild(build);
                }
                store.objects().delete(PRUNING + "/" + build.value());
            }
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot finish an earlier prune of the build cache of %s", store.url());
        }
    }

    /** The builds in an order where none comes before a build that reads from it or names it as its parent. */
    private static List<BuildId> childrenFirst(Set<BuildId> builds, Map<BuildId, Set<BuildId>> uses) {
        List<BuildId> order = new ArrayList<>();
        Set<BuildId> left = new LinkedHashSet<>(builds);
        while (!left.isEmpty()) {
            List<BuildId> unused = left.stream().filter(b -> left.stream()
                    .noneMatch(other -> uses.getOrDefault(other, Set.of()).contains(b))).toList();
            List<BuildId> next = unused.isEmpty() ? List.copyOf(left) : unused; // a cycle cannot be: take what is left
            order.addAll(next);
            next.forEach(left::remove);
        }
        return order;
    }

    private List<CacheEntry> candidates(List<CacheEntry> entries, Rule rule) {
        List<CacheEntry> out = new ArrayList<>();
        if (rule.olderThan() != null) {
            Instant limit = cache.now().minus(rule.olderThan());
            for (CacheEntry entry : entries) {
                if (entry.lastUsed().isBefore(limit)) {
                    out.add(entry);
                }
            }
            return out;
        }
        long kept = 0;
        for (CacheEntry entry : entries) {
            if (kept + entry.bytes() <= rule.keepBytes() && out.isEmpty()) {
                kept += entry.bytes();
            } else {
                out.add(entry); // beyond the budget: this one and every less recently used one
            }
        }
        return out;
    }

    /** For each build in the store, the other builds it needs: those its header reads from, and its parent. */
    private static Map<BuildId, Set<BuildId>> uses(TemplateStore store) {
        Map<BuildId, Set<BuildId>> uses = new HashMap<>();
        for (BuildSummary summary : store.list()) {
            BuildId build = summary.buildId();
            Set<BuildId> needs = new HashSet<>();
            store.metadata(build).map(BuildMetadata::parentBuildId).ifPresent(needs::add);
            if (summary.layered()) {
                try {
                    needs.addAll(BuildLayout.read(store, build).folders().values());
                } catch (RuntimeException e) {
                    // unknown needs could include any cached build: prune nothing rather than guess
                    throw TmountException.failed(e, "cannot tell which builds build %s reads from; nothing was pruned",
                            build);
                }
            }
            needs.remove(build);
            uses.put(build, needs);
        }
        return uses;
    }
}
