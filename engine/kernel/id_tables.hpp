// The kernel's id tables: which order ids were ever used, where a resting
// order lives, and which engine order id a client's id stands for.
//
// All three are flat open-addressing tables over std::vector (linear probing,
// power-of-two sizes) rather than std::unordered_map/set: measured on the
// standard workload, node-based maps cost more instructions per command (+160)
// than the matching itself (one allocation and a pointer chase per entry), and
// a node is 32-64 bytes where these slots are 8-24.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "big_array.hpp"

namespace rm {

// 64-bit multiplicative hashing: the golden-ratio constant spreads sequential
// ids (the gateway's ids are seqs) over the high bits, which pick the slot.
constexpr uint64_t HASH_MUL = 0x9E3779B97F4A7C15ull;

inline uint64_t mix64(uint64_t x) {
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    return x * HASH_MUL;
}

// Resting order id -> index of the order in the pool. A slot is 8 bytes: the
// pool index + 1 (0: empty) and the high 32 bits of the id's hash, so a probe
// compares hashes without touching the pool, and deletion (backward shift, no
// tombstones: a table under constant insert/erase churn never degrades) finds
// each entry's home slot from the slot alone. ~16 bytes per resting order at
// the maximum load (0.7); the id itself is read from the order on a hit.
class OrderIndex {
  public:
    OrderIndex() { resize(1u << 10); }

    template <class IdOf>
    uint32_t find(uint64_t id, IdOf id_of) const {
        const uint32_t tag = tag_of(id);
        for (uint32_t i = home(tag);; i = (i + 1) & mask_) {
            const Slot s = slots_[i];
            if (s.idx1 == 0) return NONE;
            if (s.tag == tag && id_of(s.idx1 - 1) == id) return s.idx1 - 1;
        }
    }

    // Add `id` (which must be absent) at pool index `idx`.
    void insert(uint64_t id, uint32_t idx) {
        if (count_ >= grow_at_) resize((mask_ + 1) * 2);
        place(Slot{idx + 1, tag_of(id)});
        ++count_;
    }

    // Erase the entry of `id` (which must be present).
    template <class IdOf>
    void erase(uint64_t id, IdOf id_of) {
        const uint32_t tag = tag_of(id);
        uint32_t i = home(tag);
        while (!(slots_[i].tag == tag && id_of(slots_[i].idx1 - 1) == id)) i = (i + 1) & mask_;
        // Backward shift: pull later entries of the cluster into the hole when
        // their home slot is not between the hole and them.
        uint32_t hole = i;
        for (uint32_t j = (i + 1) & mask_; slots_[j].idx1 != 0; j = (j + 1) & mask_) {
            const uint32_t h = home(slots_[j].tag);
            const bool stays = ((j - h) & mask_) < ((j - hole) & mask_);
            if (!stays) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole] = Slot{0, 0};
        --count_;
    }

    // Ask the memory for `id`'s home slot ahead of a lookup or an insert.
    void prefetch(uint64_t id) const { __builtin_prefetch(&slots_[home(tag_of(id))], 1, 3); }

    // The pool index the first slot with `id`'s hash names, or NONE: a guess
    // for prefetching that reads only the table, never the pool.
    uint32_t guess(uint64_t id) const {
        const uint32_t tag = tag_of(id);
        for (uint32_t i = home(tag);; i = (i + 1) & mask_) {
            const Slot s = slots_[i];
            if (s.idx1 == 0) return NONE;
            if (s.tag == tag) return s.idx1 - 1;
        }
    }

    std::size_t size() const { return count_; }

    static constexpr uint32_t NONE = UINT32_MAX;

  private:
    struct Slot {
        uint32_t idx1;  // pool index + 1; 0: empty
        uint32_t tag;   // high 32 bits of the id's hash
    };

    static uint32_t tag_of(uint64_t id) { return static_cast<uint32_t>((id * HASH_MUL) >> 32); }
    uint32_t home(uint32_t tag) const { return tag >> shift_; }

    void place(Slot s) {
        uint32_t i = home(s.tag);
        while (slots_[i].idx1 != 0) i = (i + 1) & mask_;
        slots_[i] = s;
    }

    void resize(uint32_t n) {
        BigArray<Slot> old(std::move(slots_));
        const uint32_t old_n = mask_ + 1;
        slots_ = BigArray<Slot>(n);  // zeroed: every slot empty
        mask_ = n - 1;
        shift_ = 32 - static_cast<uint32_t>(__builtin_ctz(n));
        grow_at_ = std::size_t{n} / 10 * 7;
        if (old.capacity() != 0)
            for (uint32_t i = 0; i < old_n; ++i)
                if (old[i].idx1 != 0) place(old[i]);
    }

    BigArray<Slot> slots_;
    uint32_t mask_ = 0;
    uint32_t shift_ = 32;
    std::size_t count_ = 0;
    std::size_t grow_at_ = 0;  // the count past which the load would pass 0.7
};

// Every order id a NEW ever used (DUPLICATE_ORDER_ID, and ORDER_NOT_RESTING
// vs UNKNOWN_ORDER), kept forever. Ids are mostly dense (a gateway's are the
// seqs, a file's are 1, 2, 3...), so a growable bitmap holds them at one bit
// each; an id far beyond the bitmap (which would make it grow past 8 bytes
// per id used) goes to a hash set instead, so a sparse id costs 8-16 bytes,
// never megabytes of bitmap.
class UsedIds {
  public:
    [[gnu::always_inline]] bool contains(uint64_t id) const {
        if (id < nbits_ && ((bits_[id >> 6] >> (id & 63)) & 1)) return true;
        return sparse_count_ != 0 && sparse_contains(id);
    }

    [[gnu::always_inline]] void add(uint64_t id) {
        ++count_;
        if (id < nbits_) {
            bits_[id >> 6] |= uint64_t{1} << (id & 63);
            return;
        }
        add_beyond(id);
    }

    // For the dump (kernel_dump.cpp): the bitmap's words (bit i of word w: id
    // 64w + i) and the ids of the hash set, in no order. The two never share
    // an id: an id is added once, to one of them.
    const std::vector<uint64_t>& bitmap_words() const { return bits_; }
    std::vector<uint64_t> sparse_ids() const {
        std::vector<uint64_t> out;
        for (uint64_t k : sparse_) if (k != 0) out.push_back(k);
        return out;
    }
    uint64_t count() const { return count_; }

  private:
    // An id past the bitmap: grow it to cover the id if that keeps it within
    // 8 bytes per id used (plus a start of 512 KiB), else the hash set.
    [[gnu::noinline]] void add_beyond(uint64_t id) {
        const uint64_t words_needed = (id >> 6) + 1;
        const uint64_t budget = count_ + 65536;  // words
        if (words_needed > budget) {
            sparse_add(id);
            return;
        }
        std::size_t n = bits_.empty() ? 1024 : bits_.size();
        while (n < words_needed) n *= 2;
        if (n > budget) n = static_cast<std::size_t>(words_needed);
        bits_.resize(n, 0);
        nbits_ = bits_.size() * 64ull;
        bits_[id >> 6] |= uint64_t{1} << (id & 63);
    }

    bool sparse_contains(uint64_t id) const {
        const uint64_t mask = sparse_.size() - 1;
        for (uint64_t i = mix64(id) & mask;; i = (i + 1) & mask) {
            if (sparse_[i] == 0) return false;  // first: 0 marks an empty slot, never an id
            if (sparse_[i] == id) return true;
        }
    }

    void sparse_add(uint64_t id) {
        if ((sparse_count_ + 1) * 2 > sparse_.size()) {
            std::vector<uint64_t> old;
            old.swap(sparse_);
            sparse_.assign(old.empty() ? 64 : old.size() * 2, 0);
            for (uint64_t k : old)
                if (k != 0) sparse_put(k);
        }
        sparse_put(id);
        ++sparse_count_;
    }

    void sparse_put(uint64_t id) {  // id 0 is never used: it marks an empty slot
        const uint64_t mask = sparse_.size() - 1;
        uint64_t i = mix64(id) & mask;
        while (sparse_[i] != 0) i = (i + 1) & mask;
        sparse_[i] = id;
    }

    std::vector<uint64_t> bits_;
    uint64_t nbits_ = 0;  // bits_.size() * 64
    std::vector<uint64_t> sparse_;
    std::size_t sparse_count_ = 0;
    uint64_t count_ = 0;
};

// (account id, client order id) -> engine order id, never dropped (a late
// cancel of a filled order must still find its id). Open addressing, 24-byte
// slots; account 0 (never defined) marks an empty slot.
class ClientIdMap {
  public:
    ClientIdMap() { slots_.assign(1024, Slot{0, 0, 0}); }

    // The order id, or 0 when the pair is unknown.
    uint64_t lookup(uint32_t account, uint64_t client) const {
        const uint64_t mask = slots_.size() - 1;
        for (uint64_t i = hash(account, client) & mask;; i = (i + 1) & mask) {
            const Slot& s = slots_[i];
            if (s.account == 0) return 0;
            if (s.account == account && s.client == client) return s.order_id;
        }
    }

    // Register the pair; false (and no change) if the client id is taken.
    bool add(uint32_t account, uint64_t client, uint64_t order_id) {
        if ((count_ + 1) * 10 > slots_.size() * 7) grow();
        const uint64_t mask = slots_.size() - 1;
        uint64_t i = hash(account, client) & mask;
        for (;; i = (i + 1) & mask) {
            Slot& s = slots_[i];
            if (s.account == 0) break;
            if (s.account == account && s.client == client) return false;
        }
        slots_[i] = Slot{client, order_id, account};
        ++count_;
        return true;
    }

    std::size_t size() const { return count_; }

    // Visit every (account, client id, order id), in slot order (the dump sorts them).
    template <class Visit>
    void each(Visit visit) const {
        for (const Slot& s : slots_)
            if (s.account != 0) visit(s.account, s.client, s.order_id);
    }

  private:
    struct Slot {
        uint64_t client;
        uint64_t order_id;
        uint32_t account;
    };

    static uint64_t hash(uint32_t account, uint64_t client) {
        return mix64(client ^ (uint64_t{account} << 40) ^ uint64_t{account});
    }

    void grow() {
        std::vector<Slot> old;
        old.swap(slots_);
        slots_.assign(old.size() * 2, Slot{0, 0, 0});
        const uint64_t mask = slots_.size() - 1;
        for (const Slot& s : old) {
            if (s.account == 0) continue;
            uint64_t i = hash(s.account, s.client) & mask;
            while (slots_[i].account != 0) i = (i + 1) & mask;
            slots_[i] = s;
        }
    }

    std::vector<Slot> slots_;
    std::size_t count_ = 0;
};

}  // namespace rm
