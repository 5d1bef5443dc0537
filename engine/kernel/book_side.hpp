// Resting orders and one side of a symbol's book.
//
// Orders live in one pooled array and link to each other by index (4 bytes,
// stable across the array's growth, where a pointer would be 8 and dangle).
// An order is one cache line: everything the match loop, a cancel and the
// event records read is in it.
//
// A side is a tick ladder: a window of WINDOW consecutive prices, one Level
// (head and tail of an intrusive FIFO) per price, and a two-level bitmap of
// the non-empty ones, so the next best price is a couple of bit scans and a
// new level costs nothing. Measured on the standard workload, such a ladder
// with an open-addressing id index runs at ~163 instructions per command,
// where std::map levels cost +50. Prices may be any positive int64, so a
// price outside the window goes to an ordered std::map (correct for any
// price, slower, rare): a window with no order in it is re-centred on the
// next price that misses it, which keeps a drifting market in the window.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "big_array.hpp"

namespace rm {

constexpr uint32_t NIL = UINT32_MAX;
constexpr uint8_t POST_ONLY_BIT = 0x80;  // in Order::stp_post, above the STP code
constexpr uint8_t VENUE_BIT = 0x40;      // in Order::stp_post: the order has a VenueOrder

struct alignas(64) Order {
    uint64_t id;
    uint64_t client;  // the client order id its NEW carried (0: none)
    int64_t price;
    int64_t qty;  // remaining
    int64_t cum;  // traded so far
    uint32_t next, prev;            // the level's FIFO (time priority)
    uint32_t acct_next, acct_prev;  // the account's resting orders, in entry order
    uint32_t account;
    uint16_t symbol;  // MAX_SYMBOLS fits in 16 bits
    uint8_t side;
    uint8_t stp_post;  // STP code | POST_ONLY_BIT | VENUE_BIT

    uint8_t stp() const { return stp_post & 0x0f; }
    bool venue() const { return (stp_post & VENUE_BIT) != 0; }
    bool post_only() const { return (stp_post & POST_ONLY_BIT) != 0; }
};
static_assert(sizeof(Order) == 64, "an order is one cache line");

// The orders, by index; freed slots are reused first (LIFO through `next`),
// so the pool is as large as the most orders that ever rested at once.
class OrderPool {
  public:
    uint32_t alloc() {
        if (free_ != NIL) {
            const uint32_t i = free_;
            free_ = orders_[i].next;
            return i;
        }
        if (size_ == orders_.capacity()) orders_.reserve(size_ < 1024 ? 1024 : 2 * size_);
        return static_cast<uint32_t>(size_++);
    }
    void release(uint32_t i) {
        orders_[i].next = free_;
        free_ = i;
    }
    Order& operator[](uint32_t i) { return orders_[i]; }
    const Order& operator[](uint32_t i) const { return orders_[i]; }
    // Ask the memory for order `i` ahead of its use (any i: an index past the
    // pool is ignored, so a stale guess is harmless).
    void prefetch(uint32_t i) const {
        if (i < size_) __builtin_prefetch(&orders_[i], 1, 3);
    }

  private:
    BigArray<Order> orders_;
    std::size_t size_ = 0;
    uint32_t free_ = NIL;
};

struct Level {
    uint32_t head, tail;  // meaningful only while the level is non-empty
};

// One side; Bid: better means higher. Holds the orders' indices, not the orders.
template <bool Bid>
class BookSide {
  public:
    static constexpr int WINDOW_WORDS = 64;
    static constexpr int64_t WINDOW = WINDOW_WORDS * 64;  // 4096 prices, one summary word

    static bool better(int64_t a, int64_t b) { return Bid ? a > b : a < b; }

    uint32_t count() const { return count_; }
    bool empty() const { return count_ == 0; }
    int64_t best() const { return best_; }  // only when !empty()

    // Does a taker with this limit reach our best price? (market: any price.)
    bool reached_by(int64_t limit, bool market) const {
        return count_ != 0 && (market || (Bid ? best_ >= limit : best_ <= limit));
    }

    // The non-empty level at `price`.
    Level& level(int64_t price) {
        if (in_window(price)) return win_->levels[price - lo_];
        return outside_.find(price)->second;
    }
    const Level& level(int64_t price) const {
        if (in_window(price)) return win_->levels[price - lo_];
        return outside_.find(price)->second;
    }

    // Queue order `i` (its price set) at the back of its level.
    void push_back(OrderPool& pool, uint32_t i) {
        Order& o = pool[i];
        const int64_t price = o.price;
        if (!in_window(price) && window_count_ == 0) recentre(pool, price);
        o.next = NIL;
        Level* lv;
        bool fresh;
        if (in_window(price)) {
            const int64_t k = price - lo_;
            lv = &win_->levels[k];
            fresh = !win_->test(k);
            if (fresh) win_->set(k);
            ++window_count_;
        } else {
            auto [it, inserted] = outside_.try_emplace(price, Level{NIL, NIL});
            lv = &it->second;
            fresh = inserted;
        }
        if (fresh) {
            o.prev = NIL;
            lv->head = lv->tail = i;
        } else {
            o.prev = lv->tail;
            pool[lv->tail].next = i;
            lv->tail = i;
        }
        if (count_ == 0 || better(price, best_)) best_ = price;
        ++count_;
    }

    // Take order `i` out of its level (dropping the level if it empties).
    void unlink(OrderPool& pool, uint32_t i) {
        Order& o = pool[i];
        const int64_t price = o.price;
        const bool inside = in_window(price);
        Level& lv = inside ? win_->levels[price - lo_] : outside_.find(price)->second;
        if (o.prev != NIL) pool[o.prev].next = o.next;
        else lv.head = o.next;
        if (o.next != NIL) pool[o.next].prev = o.prev;
        else lv.tail = o.prev;
        --count_;
        if (inside) --window_count_;
        if (lv.head != NIL) return;
        if (inside) win_->clear(price - lo_);
        else outside_.erase(price);
        if (price == best_) recompute_best();
    }

    // Move order `i` to the back of its (non-empty) level: an iceberg's new
    // slice loses its time priority (V-ICE-2). Counts and best are unchanged.
    void move_to_back(OrderPool& pool, uint32_t i) {
        Order& o = pool[i];
        if (o.next == NIL) return;  // the back already
        Level& lv = level(o.price);
        if (o.prev != NIL) pool[o.prev].next = o.next;
        else lv.head = o.next;
        pool[o.next].prev = o.prev;
        o.prev = lv.tail;
        o.next = NIL;
        pool[lv.tail].next = i;
        lv.tail = i;
    }

    // The next non-empty price worse than `price`, if any.
    bool next_worse(int64_t price, int64_t& out) const {
        bool found = false;
        if (window_count_ != 0) {
            int k;
            if (Bid) {
                // highest index with lo_ + k < price
                k = price <= lo_ ? -1 : win_->highest_below(price - lo_ >= WINDOW ? WINDOW : price - lo_);
            } else {
                // lowest index with lo_ + k > price
                k = price < lo_ ? win_->lowest_from(0)
                    : (price - lo_ >= WINDOW - 1 ? -1 : win_->lowest_from(price - lo_ + 1));
            }
            if (k >= 0) {
                out = lo_ + k;
                found = true;
            }
        }
        if (!outside_.empty()) {
            int64_t cand;
            bool have = false;
            if (Bid) {
                auto it = outside_.lower_bound(price);
                if (it != outside_.begin()) {
                    cand = std::prev(it)->first;
                    have = true;
                }
            } else {
                auto it = outside_.upper_bound(price);
                if (it != outside_.end()) {
                    cand = it->first;
                    have = true;
                }
            }
            if (have && (!found || better(cand, out))) {
                out = cand;
                found = true;
            }
        }
        return found;
    }

    // Visit every order, best price first, queue order within a price.
    template <class Visit>
    void each(const OrderPool& pool, Visit visit) const {
        if (count_ == 0) return;
        int64_t price = best_;
        for (;;) {
            const Level& lv = level(price);
            for (uint32_t i = lv.head; i != NIL; i = pool[i].next) visit(pool[i]);
            if (!next_worse(price, price)) return;
        }
    }

  private:
    struct Window {
        Level levels[WINDOW];
        uint64_t words[WINDOW_WORDS];  // bit k: levels[k] is non-empty
        uint64_t summary;              // bit w: words[w] != 0

        bool test(int64_t k) const { return (words[k >> 6] >> (k & 63)) & 1; }
        void set(int64_t k) {
            words[k >> 6] |= uint64_t{1} << (k & 63);
            summary |= uint64_t{1} << (k >> 6);
        }
        void clear(int64_t k) {
            uint64_t& w = words[k >> 6];
            w &= ~(uint64_t{1} << (k & 63));
            if (w == 0) summary &= ~(uint64_t{1} << (k >> 6));
        }
        // The highest set index below `limit` (0..WINDOW), or -1.
        int highest_below(int64_t limit) const {
            if (limit <= 0) return -1;
            const int w = static_cast<int>((limit - 1) >> 6);
            const int b = static_cast<int>((limit - 1) & 63);
            const uint64_t m = words[w] & (b == 63 ? ~uint64_t{0} : (uint64_t{1} << (b + 1)) - 1);
            if (m) return w * 64 + 63 - __builtin_clzll(m);
            const uint64_t s = summary & ((uint64_t{1} << w) - 1);
            if (!s) return -1;
            const int w2 = 63 - __builtin_clzll(s);
            return w2 * 64 + 63 - __builtin_clzll(words[w2]);
        }
        // The lowest set index at or above `start` (0..WINDOW-1), or -1.
        int lowest_from(int64_t start) const {
            const int w = static_cast<int>(start >> 6);
            const uint64_t m = words[w] & (~uint64_t{0} << (start & 63));
            if (m) return w * 64 + __builtin_ctzll(m);
            if (w == WINDOW_WORDS - 1) return -1;
            const uint64_t s = summary & (~uint64_t{0} << (w + 1));
            if (!s) return -1;
            const int w2 = __builtin_ctzll(s);
            return w2 * 64 + __builtin_ctzll(words[w2]);
        }
    };

    bool in_window(int64_t price) const {
        // One unsigned compare (wrapping, never undefined) tests lo_ <= price <
        // lo_ + WINDOW for any int64 price, since 1 <= lo_ and lo_ + WINDOW - 1
        // <= INT64_MAX; whether there is a window at all is tested only then.
        return static_cast<uint64_t>(price) - static_cast<uint64_t>(lo_) < uint64_t{WINDOW} &&
               win_;
    }

    // Move the (empty) window so that `price` sits in its middle, and bring
    // in the outside levels that now fall inside it.
    void recentre(const OrderPool& pool, int64_t price) {
        if (!win_) {
            win_.reset(new Window);
            std::memset(win_->words, 0, sizeof win_->words);
            win_->summary = 0;
        }
        constexpr int64_t top = INT64_MAX - (WINDOW - 1);
        lo_ = price <= WINDOW / 2 ? 1 : price - WINDOW / 2;
        if (lo_ > top) lo_ = top;
        const int64_t hi = lo_ + (WINDOW - 1);
        auto it = outside_.lower_bound(lo_);
        while (it != outside_.end() && it->first <= hi) {
            const int64_t k = it->first - lo_;
            win_->levels[k] = it->second;
            win_->set(k);
            for (uint32_t i = it->second.head; i != NIL; i = pool[i].next) ++window_count_;
            it = outside_.erase(it);
        }
    }

    void recompute_best() {
        bool found = false;
        if (window_count_ != 0) {
            const int k = Bid ? win_->highest_below(WINDOW) : win_->lowest_from(0);
            best_ = lo_ + k;
            found = true;
        }
        if (!outside_.empty()) {
            const int64_t cand = Bid ? outside_.rbegin()->first : outside_.begin()->first;
            if (!found || better(cand, best_)) best_ = cand;
        }
    }

    std::unique_ptr<Window> win_;  // allocated at the side's first order (36 KiB)
    int64_t lo_ = 1;               // the window holds prices lo_ .. lo_ + WINDOW - 1
    std::map<int64_t, Level> outside_;
    uint32_t count_ = 0;
    uint32_t window_count_ = 0;
    int64_t best_ = 0;
};

}  // namespace rm
