// A growable array of trivially copyable records in its own anonymous mapping.
//
// The order pool and the order index are the kernel's large, randomly
// accessed memory (tens of MiB at a million orders). In a mapping of their
// own they can ask for transparent huge pages (one TLB entry per 2 MiB
// instead of per 4 KiB: most of a cancel's cost is waiting on memory, and a
// page walk adds to each wait), grow by mremap (the kernel moves page table
// entries; nothing is copied, and there is never an old and a new copy at
// once), and start zeroed for free (an index's empty slot is all zeros).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace rm {

template <class T>
class BigArray {
    static_assert(std::is_trivially_copyable<T>::value, "moved by mremap");

  public:
    BigArray() = default;
    explicit BigArray(std::size_t capacity) { reserve(capacity); }
    BigArray(const BigArray&) = delete;
    BigArray& operator=(const BigArray&) = delete;
    BigArray(BigArray&& other) noexcept { take(other); }
    BigArray& operator=(BigArray&& other) noexcept {
        if (this != &other) {
            release();
            take(other);
        }
        return *this;
    }
    ~BigArray() { release(); }

    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }
    T* data() { return data_; }
    std::size_t capacity() const { return bytes_ / sizeof(T); }

    // Room for at least `capacity` records; new records read as zero bytes.
    void reserve(std::size_t capacity) {
        const std::size_t want = round_up(capacity * sizeof(T));
        if (want <= bytes_) return;
        void* p;
        if (data_ == nullptr) {
            p = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        } else {
            p = mremap(data_, bytes_, want, MREMAP_MAYMOVE);
        }
        if (p == MAP_FAILED) throw std::bad_alloc();
        data_ = static_cast<T*>(p);
        bytes_ = want;
        // Small arrays stay on small pages: a huge page would be mostly unused.
        if (bytes_ >= HUGE_FROM) madvise(data_, bytes_, MADV_HUGEPAGE);
    }

  private:
    static constexpr std::size_t PAGE = 4096;
    static constexpr std::size_t HUGE_FROM = std::size_t{4} << 20;

    static std::size_t round_up(std::size_t bytes) { return (bytes + PAGE - 1) / PAGE * PAGE; }

    void take(BigArray& other) {
        data_ = other.data_;
        bytes_ = other.bytes_;
        other.data_ = nullptr;
        other.bytes_ = 0;
    }
    void release() {
        if (data_ != nullptr) munmap(data_, bytes_);
        data_ = nullptr;
        bytes_ = 0;
    }

    T* data_ = nullptr;
    std::size_t bytes_ = 0;
};

}  // namespace rm
