package io.tmount.buildcache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tmount.TmountException;
import io.tmount.store.BuildId;
import io.tmount.store.BuildSummary;
import io.tmount.store.NoSuchObjectException;
import io.tmount.store.ObjectExistsException;
import io.tmount.store.ObjectStore;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The build cache, kept in the template store itself so that every host sharing the store shares it: per template,
 * one object per cached step, {@code tmount-build-cache/TEMPLATE/KEY.json}, naming the build that is the step's
 * result, written create-only (two builders racing on one key: the first entry stays, and both builds are good), and
 * beside it {@code KEY.used}, the time of the entry's last use (rewritten; a lost update only makes an entry look
 * older). e2b never looks under this folder; tmount's build listing skips it, and no build may take its name.
 */
public final class BuildCache {

    public static final String FOLDER = TemplateStore.CACHE_FOLDER;

    private static final Logger log = LoggerFactory.getLogger(BuildCache.class);
    private static final String ENTRY = ".json";
    private static final String USED = ".used";

    private final TemplateStore store;
    private final ObjectStore objects;
    private final Clock clock;
    private final ObjectMapper json = new ObjectMapper();

    public BuildCache(TemplateStore store) {
        this(store, Clock.systemUTC());
    }

    public BuildCache(TemplateStore store, Clock clock) {
        this.store = store;
        this.objects = store.objects();
        this.clock = clock;
    }

    /** The entry for {@code key} in {@code template}'s cache, if there is one whose build is still in the store. */
    public Optional<CacheEntry> find(TemplateId template, StepKey key) {
        try {
            byte[] bytes;
            try {
                bytes = objects.get(entryKey(template, key.hash()));
            } catch (NoSuchObjectException e) {
                return Optional.empty();
            }
            CacheEntry entry = parse(template, bytes, null);
            if (!store.exists(entry.build())) {
                log.info("build cache entry {} of {} names build {}, which is no longer in the store", key.hash(),
                        template, entry.build());
                return Optional.empty();
            }
            return Optional.of(entry);
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read the build cache of %s in %s", template, store.url());
        }
    }

    /**
     * Records {@code build} as the result of the step with {@code key}, unless an entry is there already (another
     * builder won the race, or a step whose cached run was repeated): then that entry is kept and returned. An entry
     * whose build is no longer in the store (deleted outside tmount) is replaced.
     */
    public CacheEntry record(TemplateId template, StepKey key, BuildId build, BuildId parent, String step) {
        Instant now = clock.instant();
        ObjectNode node = json.createObjectNode();
        node.put("version", StepKey.VERSION);
        node.put("template", template.value());
        node.put("key", key.hash());
        node.put("build", build.value());
        if (parent != null) {
            node.put("parent", parent.value());
        }
        node.put("step", step);
        node.put("created_at", now.toString());
        node.put("key_text", key.text());
        String object = entryKey(template, key.hash());
        try {
            byte[] bytes = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(node);
            CacheEntry ours = new CacheEntry(template, key.hash(), build, parent, step, now, now, 0);
            for (int attempt = 0; attempt < 3; attempt++) {
                try {
                    objects.create(object, bytes);
                    return ours;
                } catch (ObjectExistsException raced) {
                    CacheEntry existing;
                    try {
                        existing = parse(template, objects.get(object), null);
                    } catch (NoSuchObjectException gone) {
                        continue; // pruned meanwhile: create it again
                    }
                    if (store.exists(existing.build())) {
                        return existing;
                    }
                    log.warn("build cache entry {} of {} names build {}, which is no longer in the store; replacing it",
                            key.hash(), template, existing.build());
                    objects.delete(object);
                }
            }
            return ours; // entries kept coming and going: this build's result stands, unrecorded
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot write to the build cache of %s in %s", template, store.url());
        }
    }

    /** Notes that a build used the entry now; best effort (the entry only looks older when this fails). */
    public void used(CacheEntry entry) {
        try {
            objects.put(FOLDER + "/" + entry.template().value() + "/" + entry.key() + USED,
                    clock.instant().toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            log.warn("cannot note the use of build cache entry {} of {}: {}", entry.key(), entry.template(),
                    e.getMessage());
        }
    }

    /** Every entry of every template's cache (or of {@code template}'s only), most recently used first. */
    public List<CacheEntry> list(TemplateId template) {
        Map<BuildId, Long> sizes = new HashMap<>();
        for (BuildSummary build : store.list()) {
            sizes.put(build.buildId(), build.storedBytes());
        }
        List<CacheEntry> entries = new ArrayList<>();
        try {
            List<String> templates = template != null ? List.of(template.value()) : templateFolders();
            for (String folder : templates) {
                TemplateId id = TemplateId.of(folder);
                Map<String, Instant> used = new HashMap<>();
                List<String> keys = objects.keys(FOLDER + "/" + folder);
                for (String k : keys) {
                    if (k.endsWith(USED)) {
                        used.put(name(k, USED), lastUse(k));
                    }
                }
                for (String k : keys) {
                    if (!k.endsWith(ENTRY)) {
                        continue;
                    }
                    try {
                        CacheEntry entry = parse(id, objects.get(k), used.get(name(k, ENTRY)));
                        long bytes = entry.ownBuild() ? sizes.getOrDefault(entry.build(), 0L) : 0;
                        entries.add(new CacheEntry(entry.template(), entry.key(), entry.build(), entry.parent(),
                                entry.step(), entry.createdAt(), entry.lastUsed(), bytes));
                    } catch (NoSuchObjectException gone) {
                        // pruned meanwhile
                    }
                }
            }
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot list the build cache in %s", store.url());
        }
        entries.sort(Comparator.comparing(CacheEntry::lastUsed).reversed().thenComparing(CacheEntry::key));
        return entries;
    }

    /** Removes an entry (not its build): its last-use note first, so a half-removed entry just looks old. */
    void remove(CacheEntry entry) throws IOException {
        String base = FOLDER + "/" + entry.template().value() + "/" + entry.key();
        objects.delete(base + ENTRY);
        objects.delete(base + USED);
    }

    TemplateStore store() {
        return store;
    }

    Instant now() {
        return clock.instant();
    }

    private List<String> templateFolders() throws IOException {
        return objects.folders(FOLDER).stream().filter(f -> !f.startsWith(".")).toList(); // .pruning is no template
    }

    private Instant lastUse(String key) {
        try {
            return Instant.parse(new String(objects.get(key), StandardCharsets.UTF_8).trim());
        } catch (IOException | RuntimeException e) {
            return null; // unreadable or gone: the entry's creation counts
        }
    }

    private static String name(String key, String suffix) {
        return key.substring(key.lastIndexOf('/') + 1, key.length() - suffix.length());
    }

    private CacheEntry parse(TemplateId template, byte[] bytes, Instant used) throws IOException {
        JsonNode node = json.readTree(bytes);
        try {
            Instant created = Instant.parse(node.path("created_at").asText());
            String parent = node.path("parent").asText(null);
            return new CacheEntry(template, node.path("key").asText(), BuildId.of(node.path("build").asText()),
                    parent == null ? null : BuildId.of(parent), node.path("step").asText(), created,
                    used == null || used.isBefore(created) ? created : used, 0);
        } catch (RuntimeException e) {
            throw new IOException("a build cache entry of " + template + " is not valid: " + e.getMessage(), e);
        }
    }

    private static String entryKey(TemplateId template, String hash) {
        return FOLDER + "/" + template.value() + "/" + hash + ENTRY;
    }
}
