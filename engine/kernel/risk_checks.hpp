// The kernel's pre-trade stage: risk/pretrade.py's PreTradeRisk, compiled.
//
// PreTradeRisk is the specification: the same checks in the same order, the
// same state, changed from the same events (the kernel feeds each input's
// event records to on_event, as the stage chain feeds on_events), so the
// event bytes are the same. The limits arrive as data (layout.LIMITS_DTYPE
// rows, Kernel::set_limits); the kernel never reads the msgpack payload of a
// SET_RISK_LIMITS record: its caller decodes it (engine/kernel/control_split.py).
//
// Quantities and prices are int64 in the records, but the stage adds them up
// (a position, the open quantity of a side) and multiplies them (a notional,
// a band in bps) where Python's ints never overflow: those sums and products
// are __int128, and the one product that can pass 2^127 (a bps cap times a
// doubled reference) is unsigned.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "id_tables.hpp"
#include "records.h"

namespace rm {

// One row of layout.LIMITS_DTYPE: byte for byte the numpy dtype.
struct LimitRow {
    uint32_t account;  // 0: every account
    uint32_t symbol;   // 0: every symbol
    int64_t max_order_qty;  // each: -1 (any negative): no limit
    int64_t max_notional;
    int64_t price_band_ticks;
    int64_t price_band_bps;
    int64_t max_open_orders;
    int64_t max_position;
};
static_assert(sizeof(LimitRow) == 56, "LIMITS_DTYPE itemsize");
static_assert(offsetof(LimitRow, max_order_qty) == 8 && offsetof(LimitRow, max_position) == 48);

// LimitRow's figures for the layout test (exported with records.h's by _kernel.layout()).
#define RM_OFF(f) {"LimitRow." #f, static_cast<long long>(offsetof(LimitRow, f))}
inline const LayoutFigure LIMIT_ROW_FIGURES[] = {
    {"LIMITS_SIZE", sizeof(LimitRow)},
    RM_OFF(account), RM_OFF(symbol), RM_OFF(max_order_qty), RM_OFF(max_notional),
    RM_OFF(price_band_ticks), RM_OFF(price_band_bps), RM_OFF(max_open_orders),
    RM_OFF(max_position),
};
#undef RM_OFF
constexpr std::size_t LIMIT_ROW_FIGURE_COUNT =
    sizeof(LIMIT_ROW_FIGURES) / sizeof(LIMIT_ROW_FIGURES[0]);

constexpr int LIMIT_COUNT = 6;

// The limits in force for one account x symbol; -1: no limit.
struct Limits {
    int64_t v[LIMIT_COUNT] = {-1, -1, -1, -1, -1, -1};
    bool any() const {
        for (int64_t x : v)
            if (x >= 0) return true;
        return false;
    }
};

enum : int {
    LIM_QTY = 0,
    LIM_NOTIONAL = 1,
    LIM_BAND_TICKS = 2,
    LIM_BAND_BPS = 3,
    LIM_OPEN_ORDERS = 4,
    LIM_POSITION = 5,
};

using i128 = __int128;
using u128 = unsigned __int128;

// The stage's live orders by id: open addressing with the entries in the
// slots (linear probing, backward-shift deletion, load at most 1/2), so a
// lookup is one cache line, which the kernel can prefetch a few inputs
// ahead; a node-based map cost an allocation and two misses per order
// (measured: most of the stage's cost on the standard workload). Id 0 marks
// an empty slot: no order is accepted with id 0.
template <class Entry>
class LiveTable {
  public:
    LiveTable() { slots_.assign(1u << 10, Entry{}); mask_ = (1u << 10) - 1; }

    Entry* find(uint64_t id) {
        for (std::size_t i = home(id);; i = (i + 1) & mask_) {
            Entry& e = slots_[i];
            if (e.id == id) return &e;
            if (e.id == 0) return nullptr;
        }
    }
    const Entry* find(uint64_t id) const { return const_cast<LiveTable*>(this)->find(id); }

    // The entry of `id`, new (id set, the rest default) if it was not there.
    Entry& upsert(uint64_t id) {
        if (2 * (count_ + 1) > slots_.size()) grow();
        std::size_t i = home(id);
        for (; slots_[i].id != 0; i = (i + 1) & mask_)
            if (slots_[i].id == id) return slots_[i];
        slots_[i] = Entry{};
        slots_[i].id = id;
        ++count_;
        return slots_[i];
    }

    void erase(Entry* e) {
        std::size_t hole = static_cast<std::size_t>(e - slots_.data());
        for (std::size_t j = (hole + 1) & mask_; slots_[j].id != 0; j = (j + 1) & mask_) {
            const std::size_t h = home(slots_[j].id);
            if (((j - h) & mask_) >= ((j - hole) & mask_)) {  // its home is not in (hole, j]
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole] = Entry{};
        --count_;
    }

    void clear() {
        slots_.assign(1u << 10, Entry{});
        mask_ = (1u << 10) - 1;
        count_ = 0;
    }

    void prefetch(uint64_t id) const { __builtin_prefetch(&slots_[home(id)], 1, 3); }

    template <class F>
    void each(F f) const {
        for (const Entry& e : slots_)
            if (e.id != 0) f(e);
    }

  private:
    std::size_t home(uint64_t id) const { return static_cast<std::size_t>(mix64(id) >> 20) & mask_; }

    void grow() {
        std::vector<Entry> old(2 * slots_.size(), Entry{});
        old.swap(slots_);
        mask_ = slots_.size() - 1;
        for (const Entry& e : old) {
            if (e.id == 0) continue;
            std::size_t i = home(e.id);
            while (slots_[i].id != 0) i = (i + 1) & mask_;
            slots_[i] = e;
        }
    }

    std::vector<Entry> slots_;
    std::size_t mask_ = 0;
    std::size_t count_ = 0;
};

class RiskStage {
  public:
    struct Exposure {
        i128 position = 0;  // bought minus sold
        i128 open_buy = 0;
        i128 open_sell = 0;
    };
    // PreTradeRisk's LiveOrder: an accepted order that still has quantity.
    struct Live {
        uint64_t id = 0;  // 0: an empty slot of the table
        int64_t price = 0;  // 0: a market order's None
        int64_t qty = 0;
        Exposure* exposure = nullptr;
        uint32_t account = 0;
        uint32_t symbol = 0;
        bool buy = false;
    };

    // Replace the whole table (rows copied); resolved limits are cached per
    // account x symbol until the next table.
    void set_limits(const LimitRow* rows, std::size_t n) {
        rows_.assign(rows, rows + n);
        cache_.clear();
    }

    // The stage state starts empty, as a stage the StageChain switches in.
    void reset() {
        open_orders_.clear();
        exposures_.clear();
        live_.clear();
        last_.clear();
        killed_.clear();
        global_kill_ = false;
        cache_.clear();
    }

    bool killed(uint32_t account) const {
        return global_kill_ || (account < killed_.size() && killed_[account]);
    }

    // KILL_SWITCH's state change (account 0: the global switch).
    void kill_switch(uint32_t account, bool on) {
        if (account == 0) {
            global_kill_ = on;
            return;
        }
        if (account >= killed_.size()) killed_.resize(std::size_t{account} + 1, false);
        killed_[account] = on;
    }

    uint32_t open_orders(uint32_t account) const {
        return account < open_orders_.size() ? open_orders_[account] : 0;
    }
    std::size_t accounts_seen() const { return open_orders_.size(); }

    const Limits& limits(uint32_t account, uint32_t symbol) {
        const uint64_t key = (uint64_t{account} << 32) | symbol;
        auto it = cache_.find(key);
        if (it != cache_.end()) return it->second;
        return cache_.emplace(key, resolve(account, symbol)).first->second;
    }

    const Live* live(uint64_t id) const { return live_.find(id); }
    void prefetch_live(uint64_t id) const { live_.prefetch(id); }

    const Exposure* exposure(uint32_t account, uint32_t symbol) const {
        auto it = exposures_.find((uint64_t{account} << 32) | symbol);
        return it == exposures_.end() ? nullptr : &it->second;
    }

    // The doubled reference price is the caller's (it needs the book): 0 = none.
    int64_t last(uint32_t symbol) const { return symbol < last_.size() ? last_[symbol] : 0; }

    // PreTradeRisk.check after its kill switch and its Replace lookup: 0 (pass)
    // or the reject reason. `price` 0 is None (a MARKET's, a STOP's, a Replace
    // that keeps its price); `grows` what the position may grow by (a NEW: qty;
    // a Replace: qty - the live qty); `stop_market`: a None price is a STOP's,
    // whose notional is at _stop_price2 (`trigger` 0: the input has none; one
    // <= 0 cannot reject, as 2 x it x qty <= 0 <= 2 x the cap); `ref2(symbol)`:
    // the doubled mid of the book, 0 if a side is empty. The caller has checked
    // qty > 0 and price >= 0 (else matching rejects it).
    template <class Mid2>
    uint8_t check(uint32_t account, uint32_t symbol, bool buy, int64_t price, int64_t qty,
                  i128 grows, bool rests, bool moved, bool stop_market, int64_t trigger,
                  Mid2 mid2) {
        const Limits& lim = limits(account, symbol);
        const int64_t* v = lim.v;
        if (v[LIM_QTY] >= 0 && qty > v[LIM_QTY]) return REJ_RISK_MAX_QTY;
        const bool band = v[LIM_BAND_TICKS] >= 0 || v[LIM_BAND_BPS] >= 0;
        const int64_t notional = v[LIM_NOTIONAL];
        // The reference price, doubled so that a half-tick mid stays an
        // integer; looked up only when a limit needs it (the mid reads the book).
        i128 ref2 = 0;
        if ((band && moved) || (notional >= 0 && price == 0)) {
            const int64_t l = last(symbol);
            ref2 = l != 0 ? 2 * i128{l} : mid2(symbol);
        }
        if (notional >= 0) {
            if (price != 0) {
                if (i128{price} * qty > notional) return REJ_RISK_MAX_NOTIONAL;
            } else if (stop_market) {
                // worst2 x qty > 2 x the cap, for qty > 0: worst2 > floor(2 x cap / qty)
                // (worst2 may pass 2^64 with a wide bps band: no product).
                const i128 worst2 = stop_price2(buy, v, ref2, trigger);
                if (worst2 > 0 && worst2 > 2 * i128{notional} / qty) return REJ_RISK_MAX_NOTIONAL;
            } else if (ref2 != 0 && ref2 * qty > 2 * i128{notional}) {
                return REJ_RISK_MAX_NOTIONAL;
            }
        }
        if (price != 0 && ref2 != 0 && moved) {
            const i128 d = 2 * i128{price} - ref2;
            const i128 dev2 = d < 0 ? -d : d;
            if (v[LIM_BAND_TICKS] >= 0 && dev2 > 2 * i128{v[LIM_BAND_TICKS]})
                return REJ_RISK_PRICE_BAND;
            // dev2 < 2^66 and ref2 < 2^66: dev2 x 10^4 fits, the cap x ref2 fits unsigned.
            if (v[LIM_BAND_BPS] >= 0 &&
                static_cast<u128>(dev2) * 10000u >
                    static_cast<u128>(v[LIM_BAND_BPS]) * static_cast<u128>(ref2))
                return REJ_RISK_PRICE_BAND;
        }
        if (rests && v[LIM_OPEN_ORDERS] >= 0 &&
            int64_t{open_orders(account)} + 1 > v[LIM_OPEN_ORDERS])
            return REJ_RISK_MAX_OPEN_ORDERS;
        const int64_t cap = v[LIM_POSITION];
        if (cap >= 0 && grows > 0) {
            const Exposure* x = exposure(account, symbol);
            i128 worst;
            if (x == nullptr) worst = grows;
            else if (buy) worst = x->position + x->open_buy + grows;
            else worst = x->open_sell + grows - x->position;
            if (worst > cap) return REJ_RISK_MAX_POSITION;
        }
        return 0;
    }

    // PreTradeRisk._stop_price2: twice the worst price a STOP may fill at, the
    // band's far edge from the reference (ref2, 0: none), else the reference,
    // else its trigger (0: none). ref2 < 2^64 and a bps cap < 2^63: the edge's
    // product fits unsigned, the sum (< 2^115) signed.
    static i128 stop_price2(bool buy, const int64_t* v, i128 ref2, int64_t trigger) {
        if (ref2 != 0) {
            i128 reach = 0;
            bool edge = false;
            if (v[LIM_BAND_TICKS] >= 0) {
                reach = 2 * i128{v[LIM_BAND_TICKS]};
                edge = true;
            }
            if (v[LIM_BAND_BPS] >= 0) {
                const i128 bps = static_cast<i128>(static_cast<u128>(ref2) *
                                                   static_cast<u128>(v[LIM_BAND_BPS]) / 10000u);
                reach = edge ? std::min(reach, bps) : bps;
            }
            if (buy) return ref2 + reach;
            return ref2 > reach ? ref2 - reach : 0;
        }
        return 2 * i128{trigger};
    }

    // PreTradeRisk.on_events, one event record at a time. The venue's records it
    // does not read, as PreTradeRisk does not: ORDER_TERMS (an iceberg counts its
    // whole quantity, which ACCEPTED carries), TRIGGERED (a released stop stays
    // live, the same order), REFRESHED (the leaves do not change).
    void on_event(const EventRecord& e) {
        switch (e.kind) {
            case EV_TRADE:
            case EV_AUCTION_TRADE:  // its two records likewise: the buyer's, the seller's
                if (e.symbol >= last_.size()) last_.resize(std::size_t{e.symbol} + 1, 0);
                last_[e.symbol] = e.price;
                fill(e.order_id, e.qty, e.leaves);
                break;
            case EV_ACCEPTED: accept(e); break;
            case EV_CANCELLED: {
                Live* o = live_.find(e.order_id);
                if (o == nullptr) break;
                unopen(*o, o->qty);
                --open_orders_[o->account];
                live_.erase(o);
                break;
            }
            case EV_REDUCED: {
                Live* o = live_.find(e.order_id);
                if (o == nullptr) break;
                unopen(*o, i128{o->qty} - e.leaves);
                o->qty = e.leaves;
                break;
            }
            case EV_REPLACED: {
                Live* o = live_.find(e.order_id);
                if (o == nullptr) break;
                unopen(*o, i128{o->qty} - e.qty);
                o->qty = e.qty;
                o->price = e.price;
                break;
            }
            default: break;
        }
    }

    // The stage's whole state as bytes, for a snapshot beside the kernel's RKC1
    // dump (which holds none of it); the limits cache is derived and left out.
    // Little-endian by memcpy, as kernel_dump.cpp writes::
    //
    //   "RKK1", u8 global kill,
    //   u64 n, n LimitRow                         the limits table
    //   u64 n, n u32                              open orders by account id
    //   u64 n, n x (u64 key, 3 x i128)            exposures (account << 32 | symbol)
    //   u64 n, n x (u64 id, i64 price, i64 qty, u32 account, u32 symbol, u8 buy)
    //   u64 n, n i64                              last trade price by symbol
    //   u64 n, n u8                               kill switch by account id
    std::string dump_state() const {
        std::string out("RKK1", 4);
        auto put = [&out](const void* p, std::size_t n) {
            out.append(static_cast<const char*>(p), n);
        };
        auto count = [&put](uint64_t n) { put(&n, 8); };
        const uint8_t global = global_kill_ ? 1 : 0;
        put(&global, 1);
        count(rows_.size());
        if (!rows_.empty()) put(rows_.data(), rows_.size() * sizeof(LimitRow));
        count(open_orders_.size());
        if (!open_orders_.empty()) put(open_orders_.data(), open_orders_.size() * 4);
        // Exposures by key and live orders by id: two stages in the same state dump
        // the same bytes, whatever order their tables were filled in.
        std::vector<std::pair<uint64_t, const Exposure*>> xs;
        for (const auto& [key, x] : exposures_) xs.emplace_back(key, &x);
        std::sort(xs.begin(), xs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        count(xs.size());
        for (const auto& [key, xp] : xs) {
            const Exposure& x = *xp;
            put(&key, 8);
            put(&x.position, 16);
            put(&x.open_buy, 16);
            put(&x.open_sell, 16);
        }
        std::vector<const Live*> lives;
        live_.each([&lives](const Live& o) { lives.push_back(&o); });
        std::sort(lives.begin(), lives.end(), [](const Live* a, const Live* b) { return a->id < b->id; });
        count(lives.size());
        for (const Live* o : lives) {
            const uint8_t buy = o->buy ? 1 : 0;
            put(&o->id, 8);
            put(&o->price, 8);
            put(&o->qty, 8);
            put(&o->account, 4);
            put(&o->symbol, 4);
            put(&buy, 1);
        }
        count(last_.size());
        if (!last_.empty()) put(last_.data(), last_.size() * 8);
        count(killed_.size());
        for (bool k : killed_) {
            const uint8_t b = k ? 1 : 0;
            put(&b, 1);
        }
        return out;
    }

    // Become the stage that dump_state() wrote; std::invalid_argument naming what
    // is wrong (the stage unchanged) for bytes that are not such a dump.
    void load_state(const char* data, std::size_t n) {
        std::size_t pos = 0;
        auto bad = [](const std::string& why) {
            throw std::invalid_argument("not a valid pre-trade stage dump: " + why);
        };
        auto get = [&](void* dst, std::size_t size, const char* what) {
            if (n - pos < size) bad(std::string("truncated in ") + what);
            std::memcpy(dst, data + pos, size);
            pos += size;
        };
        auto count = [&](std::size_t size, const char* what) {
            uint64_t c;
            get(&c, 8, what);
            if (c > (n - pos) / size) bad(std::string(what) + ": more than the dump holds");
            return static_cast<std::size_t>(c);
        };
        if (n < 4 || std::memcmp(data, "RKK1", 4) != 0) bad("its magic is not RKK1");
        pos = 4;
        RiskStage s;
        uint8_t global;
        get(&global, 1, "the global kill switch");
        s.global_kill_ = global != 0;
        s.rows_.resize(count(sizeof(LimitRow), "the limits table"));
        if (!s.rows_.empty()) get(s.rows_.data(), s.rows_.size() * sizeof(LimitRow), "the limits table");
        s.open_orders_.resize(count(4, "the open orders"));
        if (!s.open_orders_.empty()) get(s.open_orders_.data(), s.open_orders_.size() * 4, "the open orders");
        for (std::size_t i = 0, c = count(56, "the exposures"); i < c; ++i) {
            uint64_t key;
            Exposure x;
            get(&key, 8, "an exposure");
            get(&x.position, 16, "an exposure");
            get(&x.open_buy, 16, "an exposure");
            get(&x.open_sell, 16, "an exposure");
            if (!s.exposures_.emplace(key, x).second) bad("an exposure twice");
        }
        for (std::size_t i = 0, c = count(33, "the live orders"); i < c; ++i) {
            uint64_t id;
            int64_t price, qty;
            uint32_t account, symbol;
            uint8_t buy;
            get(&id, 8, "a live order");
            get(&price, 8, "a live order");
            get(&qty, 8, "a live order");
            get(&account, 4, "a live order");
            get(&symbol, 4, "a live order");
            get(&buy, 1, "a live order");
            if (id == 0) bad("a live order with id 0");
            auto x = s.exposures_.find((uint64_t{account} << 32) | symbol);
            if (x == s.exposures_.end()) bad("a live order without its exposure");
            if (account >= s.open_orders_.size()) bad("a live order of an account with no open orders");
            if (s.live_.find(id) != nullptr) bad("a live order twice");
            Live& o = s.live_.upsert(id);
            o.price = price;
            o.qty = qty;
            o.exposure = &x->second;
            o.account = account;
            o.symbol = symbol;
            o.buy = buy != 0;
        }
        s.last_.resize(count(8, "the last prices"));
        if (!s.last_.empty()) get(s.last_.data(), s.last_.size() * 8, "the last prices");
        s.killed_.resize(count(1, "the kill switches"));
        for (std::size_t i = 0; i < s.killed_.size(); ++i) {
            uint8_t b;
            get(&b, 1, "the kill switches");
            s.killed_[i] = b != 0;
        }
        if (pos != n) bad(std::to_string(n - pos) + " bytes past its end");
        *this = std::move(s);
    }

  private:
    // RiskConfig.resolve: the defaults, then account-wide rows, then the
    // account x symbol rows, key by key; within a layer, a later row wins (as a
    // later override in the list does). Rows for every account and one symbol
    // (account 0, symbol s), which a RiskConfig cannot say, come after the
    // defaults and before the account's own rows.
    Limits resolve(uint32_t account, uint32_t symbol) const {
        Limits out;
        auto layer = [&](uint32_t a, uint32_t s) {
            for (const LimitRow& r : rows_) {
                if (r.account != a || r.symbol != s) continue;
                const int64_t* v = &r.max_order_qty;
                for (int k = 0; k < LIMIT_COUNT; ++k)
                    if (v[k] >= 0) out.v[k] = v[k];
            }
        };
        layer(0, 0);
        if (symbol != 0) layer(0, symbol);
        if (account != 0) layer(account, 0);
        if (account != 0 && symbol != 0) layer(account, symbol);
        return out;
    }

    void accept(const EventRecord& e) {
        if (e.account >= open_orders_.size()) open_orders_.resize(std::size_t{e.account} + 1, 0);
        Exposure& x = exposures_[(uint64_t{e.account} << 32) | e.symbol];
        const bool buy = e.side == SIDE_BUY;
        if (buy) x.open_buy += e.qty;
        else x.open_sell += e.qty;
        ++open_orders_[e.account];
        // An id accepted twice cannot be (the engine rejects a duplicate);
        // were it, PreTradeRisk's dict would keep the newer: so does this.
        Live& o = live_.upsert(e.order_id);
        o.price = e.price;
        o.qty = e.qty;
        o.exposure = &x;
        o.account = e.account;
        o.symbol = e.symbol;
        o.buy = buy;
    }

    static void unopen(Live& o, i128 qty) {
        if (o.buy) o.exposure->open_buy -= qty;
        else o.exposure->open_sell -= qty;
    }

    void fill(uint64_t id, int64_t qty, int64_t leaves) {
        Live* p = live_.find(id);
        if (p == nullptr) return;
        Live& o = *p;
        Exposure& x = *o.exposure;
        if (o.buy) {
            x.open_buy -= qty;
            x.position += qty;
        } else {
            x.open_sell -= qty;
            x.position -= qty;
        }
        o.qty = leaves;
        if (leaves == 0) {
            --open_orders_[o.account];
            live_.erase(p);
        }
    }

    std::vector<LimitRow> rows_;
    std::unordered_map<uint64_t, Limits> cache_;      // account << 32 | symbol
    std::vector<uint32_t> open_orders_;               // by account id
    std::unordered_map<uint64_t, Exposure> exposures_;  // account << 32 | symbol (nodes: stable)
    LiveTable<Live> live_;                            // by order id
    std::vector<int64_t> last_;                       // last trade price by symbol; 0: none
    std::vector<bool> killed_;                        // by account id
    bool global_kill_ = false;
};

}  // namespace rm
