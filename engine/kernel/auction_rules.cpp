// Trading phases and call auctions in the kernel (../shared/VENUE_RULES.md V-SES and
// V-AUC; docs/EVENTS.md gives their events). The pure engine (engine/book/matching.py
// "sessions and auctions", engine/book/auction.py) is the specification, event for
// event.
//
// A book outside CONTINUOUS takes orders without matching: limit orders rest (a
// crossed book is allowed), market orders wait in the book's waiting list, and
// every change publishes the indicative uncross if it moved. A SET_PHASE into
// CONTINUOUS, or from the closing auction to CLOSED, executes the call book at one
// price. What the plain path pays for all this is one compare of the book's phase
// per NEW and per CANCEL or REPLACE that changes a book.
#include <algorithm>
#include <functional>

#include "kernel.hpp"

namespace rm {

namespace {

i128 abs128(i128 x) { return x < 0 ? -x : x; }

}  // namespace

// -- SET_PHASE -----------------------------------------------------------------------

// SET_PHASE (matching.py's _set_phase): the symbol's phase moves, with what the move
// does in this order: the uncross (into CONTINUOUS, or from the closing auction to
// CLOSED), the waiting market orders cancelled when a call phase ends, the DAY orders
// expired at CLOSED, the stops the uncross triggered released, and entering a call
// phase publishes its indicative. The reference price comes first, so the move's own
// uncross reads it (V-AUC-2).
bool Kernel::on_set_phase(const InputRecord& r) {
    const uint32_t symbol = r.symbol;
    if (symbol > n_symbols_) {
        if (!fits(1)) return false;
        return reject(CMD_SET_PHASE, REJ_UNKNOWN_SYMBOL, 0, 0, 0);
    }
    if (!fits((symbol != 0 ? worst_set_phase(books_[symbol]) : 1) + due(r.ts_ns))) return false;
    advance(r.ts_ns);
    const uint8_t phase = r.reason;
    if (phase < PHASE_PRE_OPEN || phase > PHASE_HALTED)
        return reject(CMD_SET_PHASE, REJ_UNKNOWN_PHASE, 0, 0, 0);
    if (symbol == 0) return reject(CMD_SET_PHASE, REJ_INVALID_SYMBOL, 0, 0, 0);
    if (r.price < 0) return reject(CMD_SET_PHASE, REJ_INVALID_PRICE, 0, 0, 0);
    Book& b = books_[symbol];
    if (r.price > 0) b.reference = r.price;
    const uint8_t previous = b.phase;
    if (phase == previous) return true;
    const bool was_call = b.call();
    b.phase = phase;
    if (previous == PHASE_CONTINUOUS) ++not_continuous_;
    else if (phase == PHASE_CONTINUOUS) --not_continuous_;
    EventRecord& e = emit();
    e.kind = EV_PHASE_CHANGED;
    e.reason = phase;
    e.symbol = symbol;
    e.qty = previous;
    bool fired = false;
    if (phase == PHASE_CONTINUOUS || (previous == PHASE_CLOSING_AUCTION && phase == PHASE_CLOSED)) {
        uncross(symbol);
        fired = take_fired(b);  // they leave the held set now (V-STOP-7)
    }
    if (was_call && !b.call()) {
        for (uint32_t i = b.waiting.head; i != NIL;) {
            const uint32_t next = pool_[i].next;
            about_order(EV_CANCELLED, CXL_AUCTION_UNFILLED, pool_[i], pool_[i].qty);
            remove_resting(i);
            i = next;
        }
    }
    if (phase == PHASE_CLOSED) expire_day_orders(symbol);
    if (fired) {
        // release() starts no round, so fired_ is the uncross's throughout.
        for (std::size_t k = 0; k < fired_.size(); ++k) release(fired_[k]);
        release_triggered(symbol);
    }
    b.shown = false;  // entering a call phase always publishes (V-AUC-4)
    if (b.call()) publish_indicative(symbol);
    return true;
}

// A SET_PHASE's worst case: PHASE_CHANGED; the uncross's executions (each uses up a
// slice or a waiting order, or ends the volume: two records and a refresh each); a
// cancel or an expiry per live order; the released stops' cascade (worst_bound, a
// TRIGGERED and a CANCELLED each at CLOSED within it); an INDICATIVE.
std::size_t Kernel::worst_set_phase(const Book& b) const {
    const uint64_t orders = uint64_t{b.bids.count()} + b.asks.count() + b.waiting.count + b.stops.count;
    uint64_t need = mul_sat(add_sat(add_sat(orders, b.slices), 1), 3);
    need = add_sat(need, orders);
    need = add_sat(need, worst_bound(b, 0));
    need = add_sat(need, 2);
    return size_sat(need);
}

// The DAY orders of the symbol (resting, held stops) expire when it closes
// (V-EXP-2), in the order of their NEWs. The stops the uncross triggered have left
// their accounts' lists already: they are released, not expired.
void Kernel::expire_day_orders(uint32_t symbol) {
    std::vector<std::pair<uint64_t, uint32_t>> day;  // (seq of its NEW, pool index)
    for (uint32_t a = 1; a <= n_accounts_; ++a)
        for (uint32_t i = accounts_[a].head; i != NIL; i = pool_[i].acct_next) {
            const Order& o = pool_[i];
            if (o.symbol == symbol && o.venue() && venue_[i].tif == TIF_DAY)
                day.emplace_back(venue_[i].new_seq, i);
        }
    std::sort(day.begin(), day.end());
    for (const auto& [seq, i] : day) {
        about_order(EV_CANCELLED, CXL_EXPIRED, pool_[i], pool_[i].qty + hidden_of(i));
        remove_resting(i);
    }
}

// -- the uncross ---------------------------------------------------------------------

// The uncross the call book would run now (auction.py's uncross_price): the
// candidate that maximises executable volume, then has the smallest imbalance, then
// lies closest to the reference, then is lower. Every tick between the lowest and
// the highest limit price is a candidate, but volumes change only at limit prices,
// so each gap between two of them stands for its one best tick.
Uncross Kernel::uncross_of(const Book& b) const {
    i128 market_buy = 0;
    i128 market_sell = 0;
    for (uint32_t i = b.waiting.head; i != NIL; i = pool_[i].next)
        (pool_[i].side == SIDE_BUY ? market_buy : market_sell) += pool_[i].qty;
    const int64_t ref = b.last_price != 0 ? b.last_price : b.reference;  // 0: none
    // The prices ascending, each with its whole bid and ask quantity (hidden too).
    auto level_total = [this](const Level& level) {
        i128 total = 0;
        for (uint32_t i = level.head; i != NIL; i = pool_[i].next)
            total += i128{pool_[i].qty} + hidden_of(i);
        return total;
    };
    bid_totals_.clear();
    if (!b.bids.empty()) {
        int64_t px = b.bids.best();
        do bid_totals_.emplace_back(px, level_total(b.bids.level(px)));
        while (b.bids.next_worse(px, px));
    }
    totals_.clear();
    std::size_t k = bid_totals_.size();  // bids are best (highest) first: walk them back
    auto take_bids_below = [&](int64_t limit, bool all) {
        while (k > 0 && (all || bid_totals_[k - 1].first < limit)) {
            --k;
            totals_.push_back({bid_totals_[k].first, bid_totals_[k].second, 0, 0, 0});
        }
    };
    if (!b.asks.empty()) {
        int64_t px = b.asks.best();
        do {
            const i128 total = level_total(b.asks.level(px));
            take_bids_below(px, false);
            if (k > 0 && bid_totals_[k - 1].first == px) {
                --k;
                totals_.push_back({px, bid_totals_[k].second, total, 0, 0});
            } else {
                totals_.push_back({px, 0, total, 0, 0});
            }
        } while (b.asks.next_worse(px, px));
    }
    take_bids_below(0, true);
    auto result = [](int64_t price, i128 volume, i128 surplus) {
        Uncross u;
        u.price = price;
        u.volume = static_cast<int64_t>(volume);
        if (surplus > 0) {
            u.side = SIDE_BUY;
            u.imbalance = static_cast<int64_t>(surplus);
        } else if (surplus < 0) {
            u.side = SIDE_SELL;
            u.imbalance = static_cast<int64_t>(-surplus);
        }
        return u;
    };
    if (totals_.empty()) {
        if (ref == 0 || market_buy == 0 || market_sell == 0) return Uncross{};
        return result(ref, std::min(market_buy, market_sell), market_buy - market_sell);
    }
    // Buy volume at p: market buys and bids at p or above; sell volume: market
    // sells and asks at p or below.
    i128 running = market_buy;
    for (std::size_t j = totals_.size(); j-- > 0;) {
        running += totals_[j].bid;
        totals_[j].buys = running;
    }
    running = market_sell;
    for (PriceTotals& t : totals_) {
        running += t.ask;
        t.sells = running;
    }
    bool have = false;
    int64_t best_price = 0;
    i128 best_buys = 0, best_sells = 0;
    auto consider = [&](int64_t p, i128 buys, i128 sells) {
        if (have) {
            const i128 vol = std::min(buys, sells), best_vol = std::min(best_buys, best_sells);
            if (vol != best_vol) {
                if (vol < best_vol) return;
            } else {
                const i128 imb = abs128(buys - sells), best_imb = abs128(best_buys - best_sells);
                if (imb != best_imb) {
                    if (imb > best_imb) return;
                } else {
                    const i128 d = ref == 0 ? 0 : abs128(i128{p} - ref);
                    const i128 best_d = ref == 0 ? 0 : abs128(i128{best_price} - ref);
                    if (d != best_d) {
                        if (d > best_d) return;
                    } else if (p > best_price) {
                        return;
                    }
                }
            }
        }
        have = true;
        best_price = p;
        best_buys = buys;
        best_sells = sells;
    };
    for (std::size_t j = 0; j < totals_.size(); ++j) {
        const PriceTotals& t = totals_[j];
        consider(t.price, t.buys, t.sells);
        if (j + 1 < totals_.size() && totals_[j + 1].price - t.price >= 2) {
            const int64_t low = t.price + 1, high = totals_[j + 1].price - 1;
            const int64_t q = ref == 0 ? low : std::min(std::max(ref, low), high);
            consider(q, totals_[j + 1].buys, t.sells);
        }
    }
    const i128 volume = std::min(best_buys, best_sells);
    if (volume == 0) return Uncross{};
    return result(best_price, volume, best_buys - best_sells);
}

// Execute the call book at its uncross price (V-AUC-1, V-AUC-3): each side in
// allocation order, market orders first (entry order), then limit orders best price
// first, queue order within a price; an iceberg's emptied slice refreshes to the back
// of its level, where the walk meets it again. STP does not apply to an auction.
void Kernel::uncross(uint32_t symbol) {
    Book& b = books_[symbol];
    const Uncross u = uncross_of(b);
    if (u.volume == 0) return;
    const int64_t price = u.price;
    int64_t volume = u.volume;
    uint32_t market_buy = next_waiting(b.waiting.head, SIDE_BUY);
    uint32_t market_sell = next_waiting(b.waiting.head, SIDE_SELL);
    while (volume != 0) {
        // The volume is executable, so each side has an order at the price or better.
        const uint32_t bi = auction_head<true>(b, market_buy);
        const uint32_t si = auction_head<false>(b, market_sell);
        int64_t t = std::min(pool_[bi].qty, pool_[si].qty);
        if (volume < t) t = volume;
        volume -= t;
        ++trade_id_;
        auction_fill(bi, price, t);
        auction_fill(si, price, t);
        allocated(bi, market_buy);
        allocated(si, market_sell);
    }
    b.last_price = price;
    if (b.stops.count != 0) {
        if (print_high_ == 0 || price < print_low_) print_low_ = price;
        if (price > print_high_) print_high_ = price;
    }
}

template <bool Buy>
uint32_t Kernel::auction_head(Book& b, uint32_t market) const {
    if (market != NIL) return market;
    const auto& own = own_side<Buy>(b);
    return own.level(own.best()).head;
}

uint32_t Kernel::next_waiting(uint32_t i, uint8_t side) const {
    while (i != NIL && pool_[i].side != side) i = pool_[i].next;
    return i;
}

// One side's record of an execution: AUCTION_TRADE with its own leaves and cum.
void Kernel::auction_fill(uint32_t i, int64_t price, int64_t qty) {
    Order& o = pool_[i];
    o.qty -= qty;
    o.cum = static_cast<int64_t>(static_cast<uint64_t>(o.cum) + static_cast<uint64_t>(qty));
    EventRecord& e = emit();
    e.kind = EV_AUCTION_TRADE;
    e.side = o.side;
    e.account = o.account;
    e.symbol = o.symbol;
    e.order_id = o.id;
    e.client_order_id = o.client;
    e.price = price;
    e.qty = qty;
    e.leaves = o.qty + hidden_of(i);
    e.cum = o.cum;
    e.trade_id = trade_id_;
}

// After order `i` traded in an uncross: a used-up waiting order leaves (its side's
// next waiting one is the head), a used-up slice refreshes or the order leaves.
void Kernel::allocated(uint32_t i, uint32_t& market) {
    const Order& o = pool_[i];
    if (o.qty != 0) return;
    if (o.price == 0) {
        market = next_waiting(o.next, o.side);
        remove_resting(i);
    } else if (hidden_of(i) != 0) {
        refresh(i);
    } else {
        remove_resting(i);
    }
}

// -- the indicative -------------------------------------------------------------------

// In a call phase: INDICATIVE, if the uncross it would run moved (V-AUC-4).
void Kernel::publish_indicative(uint32_t symbol) {
    Book& b = books_[symbol];
    if (!b.call()) return;
    const Uncross u = uncross_of(b);
    if (b.shown && u.price == b.shown_price && u.volume == b.shown_volume &&
        u.side == b.shown_side && u.imbalance == b.shown_imbalance)
        return;
    b.shown = true;
    b.shown_price = u.price;
    b.shown_volume = u.volume;
    b.shown_side = u.side;
    b.shown_imbalance = u.imbalance;
    EventRecord& e = emit();
    e.kind = EV_INDICATIVE;
    e.side = u.side;
    e.symbol = symbol;
    e.price = u.price;
    e.qty = u.volume;
    e.leaves = u.imbalance;
}

void Kernel::publish_touched() {
    for (uint32_t s : touched_) publish_indicative(s);
    touched_.clear();
}

// -- orders in a call phase ------------------------------------------------------------

// A NEW (not a stop) in a call phase, its ACCEPTED written: nothing matches
// (V-SES-2). A market order waits, a post-only order that would cross the best
// opposite limit is cancelled, anything else rests (an iceberg as its slice).
// Whether the order is live now.
template <bool Buy>
bool Kernel::enter_call(Taker& t, bool post_only, uint32_t slot) {
    Book& b = books_[t.symbol];
    if (t.market) {
        b.waiting.push_back(pool_, slot);
        index_.insert(t.id, slot);
        account_append(slot);
        ++resting_;
        return true;
    }
    const bool crosses = Buy ? b.asks.reached_by(t.price, false) : b.bids.reached_by(t.price, false);
    if (post_only && crosses) {
        about_taker(EV_CANCELLED, CXL_POST_ONLY, t, t.qty);
        drop_taker(slot, false);
        return false;
    }
    rest_venue<Buy>(t, slot, false);
    return true;
}

template bool Kernel::enter_call<true>(Taker&, bool, uint32_t);
template bool Kernel::enter_call<false>(Taker&, bool, uint32_t);

}  // namespace rm
