// Element types a Tensor can hold, their sizes and names, and the CPU dispatch from a
// runtime DType to a C++ type. f64 exists for gradcheck on CPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "core/error.h"
#include "core/half.h"

namespace linea {

enum class DType : uint8_t { f32, bf16, f16, f64, i32, i64, u8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
bool is_floating(DType t);
DType dtype_from_name(const std::string& name);  // "f32", "bf16", ... ; throws ConfigError

template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::f32; };
template <> struct DTypeOf<bf16> { static constexpr DType value = DType::bf16; };
template <> struct DTypeOf<f16> { static constexpr DType value = DType::f16; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::f64; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::i32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::i64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::u8; };

template <class T> struct TypeTag { using type = T; };

// Calls fn(TypeTag<T>{}) for the floating dtypes; `op` names the caller in the error.
template <class Fn>
decltype(auto) dispatch_floating(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(TypeTag<float>{});
    case DType::bf16: return fn(TypeTag<bf16>{});
    case DType::f16: return fn(TypeTag<f16>{});
    case DType::f64: return fn(TypeTag<double>{});
    default: break;
  }
  throw ShapeError(str_cat(op, ": dtype ", dtype_name(t), " is not supported, expected a floating dtype (f32, bf16, f16, f64)"));
}

// As above for the integer dtypes used as indices (i32, i64).
template <class Fn>
decltype(auto) dispatch_index(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::i32: return fn(TypeTag<int32_t>{});
    case DType::i64: return fn(TypeTag<int64_t>{});
    default: break;
  }
  throw ShapeError(str_cat(op, ": index dtype ", dtype_name(t), " is not supported, expected i32 or i64"));
}

// Every dtype.
template <class Fn>
decltype(auto) dispatch_all(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::i32: return fn(TypeTag<int32_t>{});
    case DType::i64: return fn(TypeTag<int64_t>{});
    case DType::u8: return fn(TypeTag<uint8_t>{});
    default: return dispatch_floating(t, op, std::forward<Fn>(fn));
  }
}

}  // namespace linea
