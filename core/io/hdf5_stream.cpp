// H5File's extendable 1-D streams: chunked datasets appended piece by piece, each chunk a
// block with its own XXH64 (kept while writing, stored by finish_streams), and range reads
// that verify the blocks they touch.
#include <algorithm>
#include <cstring>
#include <memory>

#include "core/io/hdf5_detail.h"
#include "core/io/hdf5_file.h"

namespace linea {

using namespace h5detail;

namespace {

// Elements per checksummed block at most: a read hashes the whole blocks it touches, so
// short reads (a training window) hash little more than they use.
constexpr int64_t kMaxBlockElements = 8192;

const char* stream_element_name(StreamElement e) {
  switch (e) {
    case StreamElement::u16: return "uint16";
    case StreamElement::u32: return "uint32";
    case StreamElement::i64: return "int64";
  }
  return "?";
}

hid_t stream_memory_type(StreamElement e) {
  return e == StreamElement::u16 ? H5T_NATIVE_UINT16 : e == StreamElement::u32 ? H5T_NATIVE_UINT32 : H5T_NATIVE_INT64;
}

size_t stream_element_size(StreamElement e) { return e == StreamElement::u16 ? 2 : e == StreamElement::u32 ? 4 : 8; }

// Values (already checked to fit) in the stream's element type, as they are stored.
template <class T>
std::vector<unsigned char> stored_bytes(const int64_t* values, int64_t n) {
  std::vector<unsigned char> bytes(size_t(n) * sizeof(T));
  for (int64_t i = 0; i < n; ++i) {
    const T v = static_cast<T>(values[i]);
    std::memcpy(bytes.data() + size_t(i) * sizeof(T), &v, sizeof(T));
  }
  return bytes;
}

}  // namespace

void H5File::create_stream(const std::string& object, StreamElement element, int64_t chunk_elements) {
  LINEA_ASSERT(chunk_elements > 0, "create_stream: chunk_elements must be positive");
  if (exists(object)) fail(str_cat("object '", object, "' already exists"));
  hsize_t dims[1] = {0}, max_dims[1] = {H5S_UNLIMITED}, chunk[1] = {hsize_t(chunk_elements)};
  H5Id space(H5_CHECKED(H5Screate_simple(1, dims, max_dims), object), H5Sclose);
  H5Id dcpl(H5_CHECKED(H5Pcreate(H5P_DATASET_CREATE), object), H5Pclose);
  H5_CHECKED(H5Pset_chunk(dcpl, 1, chunk), object);
  H5_CHECKED(H5Pset_obj_track_times(dcpl, false), object);  // no timestamps: equal data, equal bytes
  hid_t type = element == StreamElement::u16 ? H5T_STD_U16LE : element == StreamElement::u32 ? H5T_STD_U32LE
                                                                                            : H5T_STD_I64LE;
  create_parent_groups(object);
  H5Id dset(H5_CHECKED(H5Dcreate2(id_, object.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), object),
            H5Dclose);
  const int64_t block = std::min(chunk_elements, kMaxBlockElements);
  set_int_attr(object, kBlockAttr, block);
  streams_[object].block_bytes = block * int64_t(stream_element_size(element));
}

void H5File::append(const std::string& object, const Tensor& values) {
  LINEA_ASSERT(values.dim() == 1 && (values.dtype() == DType::i32 || values.dtype() == DType::i64 ||
                                     values.dtype() == DType::u8),
               "append to '", object, "' needs a 1-D integer tensor, got ", values.desc());
  auto stream = streams_.find(object);
  LINEA_ASSERT(stream != streams_.end(), "append to '", object, "', which is not a stream created in this file");
  H5Id dset(open_dataset(object), H5Dclose);
  Tensor v = values.to(Device::cpu(), DType::i64).contiguous();
  const int64_t* p = v.data<int64_t>();
  H5Id type(H5_CHECKED(H5Dget_type(dset), object), H5Tclose);
  StreamElement element = H5Tequal(type, H5T_STD_U16LE) > 0   ? StreamElement::u16
                          : H5Tequal(type, H5T_STD_U32LE) > 0 ? StreamElement::u32
                                                               : StreamElement::i64;
  int64_t max_value = element == StreamElement::u16 ? 0xffff : element == StreamElement::u32 ? 0xffffffffLL : INT64_MAX;
  int64_t min_value = element == StreamElement::i64 ? INT64_MIN : 0;
  for (int64_t i = 0; i < v.numel(); ++i)
    if (p[i] < min_value || p[i] > max_value)
      fail(str_cat("value ", p[i], " at position ", i, " does not fit the ", stream_element_name(element),
                   " stream '", object, "'"));
  if (v.numel() == 0) return;
  // Converted here rather than by HDF5: these bytes are both what is stored and what the
  // block checksums cover.
  const std::vector<unsigned char> bytes = element == StreamElement::u16   ? stored_bytes<uint16_t>(p, v.numel())
                                           : element == StreamElement::u32 ? stored_bytes<uint32_t>(p, v.numel())
                                                                           : stored_bytes<int64_t>(p, v.numel());
  hsize_t old_len = hsize_t(length(object)), count[1] = {hsize_t(v.numel())}, start[1] = {old_len};
  hsize_t new_len[1] = {old_len + count[0]};
  H5_CHECKED(H5Dset_extent(dset, new_len), object);
  H5Id file_space(H5_CHECKED(H5Dget_space(dset), object), H5Sclose);
  H5_CHECKED(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr), object);
  H5Id mem_space(H5_CHECKED(H5Screate_simple(1, count, nullptr), object), H5Sclose);
  H5_CHECKED(H5Dwrite(dset, stream_memory_type(element), mem_space, file_space, H5P_DEFAULT, bytes.data()), object);
  StreamChecksums& s = stream->second;
  for (size_t done = 0; done < bytes.size();) {
    const size_t take = std::min(bytes.size() - done, size_t(s.block_bytes - s.block_fill));
    s.block.update(bytes.data() + done, take);
    s.block_fill += int64_t(take);
    done += take;
    if (s.block_fill == s.block_bytes) {
      s.digests.push_back(s.block.digest());
      s.block = Xxh64();
      s.block_fill = 0;
    }
  }
}

void H5File::finish_streams() {
  std::map<std::string, StreamChecksums> streams;
  streams.swap(streams_);  // finished once, even if writing fails
  for (auto& [object, s] : streams) {
    if (s.block_fill > 0) s.digests.push_back(s.block.digest());
    // uint64 digests stored bit-for-bit as int64 (Tensor has no uint64).
    Tensor digests = Tensor::empty({int64_t(s.digests.size())}, DType::i64);
    if (!s.digests.empty()) std::memcpy(digests.data_ptr(), s.digests.data(), s.digests.size() * sizeof(uint64_t));
    write_tensor(block_digests(object), digests);
  }
}

int64_t H5File::length(const std::string& object) const {
  H5Id dset(open_dataset(object), H5Dclose);
  return length_of(dset, object);
}

int64_t H5File::length_of(int64_t dset, const std::string& object) const {
  const Shape shape = shape_of(dset, object);
  if (shape.size() != 1) fail(str_cat("dataset '", object, "' has shape ", shape_str(shape), ", expected 1-D"));
  return shape[0];
}

void H5File::read_elements(int64_t dset, const std::string& object, int64_t mem_type, int64_t start, int64_t count,
                           void* out) const {
  hsize_t offset[1] = {hsize_t(start)}, size[1] = {hsize_t(count)};
  H5Id file_space(H5_CHECKED(H5Dget_space(dset), object), H5Sclose);
  H5_CHECKED(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, offset, nullptr, size, nullptr), object);
  H5Id mem_space(H5_CHECKED(H5Screate_simple(1, size, nullptr), object), H5Sclose);
  H5_CHECKED(H5Dread(dset, mem_type, mem_space, file_space, H5P_DEFAULT, out), object);
}

Tensor H5File::read_range(const std::string& object, int64_t start, int64_t count, DType dtype) const {
  H5Id dset(open_dataset(object), H5Dclose);  // attributes are looked up on it, not by path again
  const int64_t len = length_of(dset, object);
  if (start < 0 || count < 0 || start + count > len)
    fail(str_cat("range [", start, ", ", start + count, ") is outside dataset '", object, "' of length ", len));
  if (count == 0) return Tensor::empty({0}, dtype);
  if (checksummed_ && H5_CHECKED(H5Aexists(dset, kBlockAttr), object) > 0)
    return read_stream_range(dset, object, start, count, dtype);
  // A tensor's checksum covers it whole, so it is read whole.
  if (checksummed_) return read_tensor(object).narrow(0, start, count).to(dtype).contiguous();
  note_unverified();
  Tensor out = Tensor::empty({count}, dtype);
  H5Id mem_type(H5_CHECKED(new_memory_type(dtype), object), H5Tclose);
  read_elements(dset, object, mem_type, start, count, out.data_ptr());
  return out;
}

Tensor H5File::read_stream_range(int64_t dset, const std::string& object, int64_t start, int64_t count,
                                 DType dtype) const {
  LINEA_ASSERT(!streams_.count(object), "read of stream '", object,
               "' while it is being written; close the file first");
  const int64_t len = length_of(dset, object);
  H5Id block_attr(H5_CHECKED(H5Aopen(dset, kBlockAttr, H5P_DEFAULT), object), H5Aclose);
  const int64_t block = read_int_attr(block_attr, object + "@" + kBlockAttr);
  if (block <= 0) fail(str_cat(object, ": ", kBlockAttr, " is ", block, ", expected > 0"));
  const std::string digests_name = block_digests(object);
  H5Id digests(open_dataset(digests_name), H5Dclose);
  const int64_t blocks = (len + block - 1) / block, stored = length_of(digests, digests_name);
  if (stored != blocks)
    fail(str_cat(digests_name, ": ", stored, " block checksums, expected ", blocks, " for the ", len, " elements of ",
                 object));
  if (count == 0) return Tensor::empty({0}, dtype);
  // The whole blocks the range touches, in the stored element type.
  const int64_t first = start / block, last = (start + count - 1) / block;
  const int64_t begin = first * block, end = std::min(len, (last + 1) * block);
  H5Id file_type(H5_CHECKED(H5Dget_type(dset), object), H5Tclose);
  H5Id raw_type(H5_CHECKED(H5Tget_native_type(file_type, H5T_DIR_ASCEND), object), H5Tclose);
  H5Id out_type(H5_CHECKED(new_memory_type(dtype), object), H5Tclose);
  const size_t raw_size = H5Tget_size(raw_type), out_size = dtype_size(dtype);
  // Not zero-filled (a whole block per read), with room to convert in place.
  std::unique_ptr<unsigned char[]> raw(new unsigned char[size_t(end - begin) * std::max(raw_size, out_size)]);
  read_elements(dset, object, raw_type, begin, end - begin, raw.get());
  std::vector<int64_t> want(size_t(last - first + 1));
  read_elements(digests, digests_name, H5T_NATIVE_INT64, first, last - first + 1, want.data());
  for (int64_t b = first; b <= last; ++b) {
    const int64_t b0 = b * block, b1 = std::min(len, b0 + block);
    const uint64_t got = xxh64(raw.get() + size_t(b0 - begin) * raw_size, size_t(b1 - b0) * raw_size);
    const uint64_t expected = uint64_t(want[size_t(b - first)]);
    if (got != expected)
      fail(str_cat(object, ": damaged data: elements [", b0, ", ", b1, ") have xxh64 ", xxh64_hex(got), ", expected ",
                   xxh64_hex(expected), " as written"));
  }
  std::memmove(raw.get(), raw.get() + size_t(start - begin) * raw_size, size_t(count) * raw_size);
  H5_CHECKED(H5Tconvert(raw_type, out_type, size_t(count), raw.get(), nullptr, H5P_DEFAULT), object);
  Tensor out = Tensor::empty({count}, dtype);
  std::memcpy(out.data_ptr(), raw.get(), size_t(count) * out_size);
  return out;
}

}  // namespace linea
