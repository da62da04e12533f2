// H5File over the HDF5 C API: files, tensors with their checksums, and attributes. Every
// call is checked by H5_CHECKED, which names the file, the object and HDF5's own reason;
// HDF5's automatic error printing is turned off. Streams are in hdf5_stream.cpp, the
// whole-file check in hdf5_verify.cpp.
#include "core/io/hdf5_file.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>

#include "core/io/hdf5_detail.h"

namespace linea {

using namespace h5detail;

namespace {

// Attributes the root group keeps in its header (HDF5's default is 8).
constexpr unsigned kRootCompactAttributes = 64;
// read_tensors waits for its hashing thread when it lags this far behind.
constexpr int64_t kMaxUnhashedBytes = int64_t(512) << 20;

void silence_hdf5() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

// IEEE half precision as h5py writes float16.
hid_t new_half_type() {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  return t;
}

hid_t new_file_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return H5Tcopy(H5T_IEEE_F32LE);
    case DType::f64: return H5Tcopy(H5T_IEEE_F64LE);
    case DType::f16: return new_half_type();
    case DType::bf16: return H5Tcopy(H5T_STD_U16LE);
    case DType::i32: return H5Tcopy(H5T_STD_I32LE);
    case DType::i64: return H5Tcopy(H5T_STD_I64LE);
    case DType::u8: return H5Tcopy(H5T_STD_U8LE);
  }
  return -1;
}

Shape space_shape(hid_t space, int& ndims) {
  ndims = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(std::max(ndims, 0));
  if (ndims > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return Shape(dims.begin(), dims.end());
}

}  // namespace

std::string h5detail::hdf5_reason() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        if (n == 0 && e->desc) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason.empty() ? "unknown HDF5 error" : reason;
}

hid_t h5detail::new_memory_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return H5Tcopy(H5T_NATIVE_FLOAT);
    case DType::f64: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case DType::f16: return new_half_type();
    case DType::bf16: return H5Tcopy(H5T_NATIVE_UINT16);
    case DType::i32: return H5Tcopy(H5T_NATIVE_INT32);
    case DType::i64: return H5Tcopy(H5T_NATIVE_INT64);
    case DType::u8: return H5Tcopy(H5T_NATIVE_UINT8);
  }
  return -1;
}

H5File H5File::create(const std::string& path, H5Errors errors) {
  silence_hdf5();
  H5File file(-1, path, errors);
  // HDF5's 1.10 format rather than the default earliest one: its metadata carries
  // checksums. The upper bound keeps newer HDF5 libraries writing files that h5py on HDF5
  // 1.10 reads.
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0)
    file.fail(str_cat("cannot select the HDF5 1.10 file format: ", hdf5_reason()));
  // The root group keeps its attributes (a shard has 16) in its object header rather than in
  // a separate heap, which would cost readers that open a shard per read several more reads.
  // No timestamps (1.10-format headers would store them): equal data, equal bytes.
  H5Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  if (fcpl < 0 || H5Pset_attr_phase_change(fcpl, kRootCompactAttributes, kRootCompactAttributes - 1) < 0 ||
      H5Pset_obj_track_times(fcpl, false) < 0)
    file.fail(str_cat("cannot set the root group's properties: ", hdf5_reason()));
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
  if (id < 0) file.fail(str_cat("cannot create HDF5 file: ", hdf5_reason()));
  file.id_ = id;
  file.checksummed_ = true;
  file.set_string_attr("/", kChecksumAttr, "xxh64");
  return file;
}

H5File H5File::open_read(const std::string& path, H5Errors errors) {
  silence_hdf5();
  H5File file(-1, path, errors);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) file.fail("no such file");
  auto not_hdf5 = [&](const std::string& why) {
    std::string message = str_cat("not an HDF5 file or truncated: ", path, why.empty() ? "" : " (" + why + ")");
    if (errors == H5Errors::data) throw DataError(message);
    throw CheckpointError(message);
  };
  if (std::filesystem::is_directory(path, ec) || H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    not_hdf5("");
  }
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    const std::string reason = hdf5_reason();
    if (is_checksum_failure(reason))
      file.fail(str_cat("damaged HDF5 metadata on open (", reason, "), expected an intact file"));
    not_hdf5(reason);
  }
  file.id_ = id;
  if (file.has_attr("/", kChecksumAttr)) {
    const std::string algorithm = file.string_attr("/", kChecksumAttr);
    if (algorithm != "xxh64") file.fail(str_cat("checksum algorithm '", algorithm, "', expected xxh64"));
    file.checksummed_ = true;
  }
  return file;
}

H5File::H5File(H5File&& other) noexcept
    : id_(other.id_), path_(std::move(other.path_)), errors_(other.errors_), checksummed_(other.checksummed_),
      streams_(std::move(other.streams_)) {
  other.id_ = -1;
}

H5File& H5File::operator=(H5File&& other) noexcept {
  if (this != &other) {
    close_quietly();
    id_ = other.id_;
    path_ = std::move(other.path_);
    errors_ = other.errors_;
    checksummed_ = other.checksummed_;
    streams_ = std::move(other.streams_);
    other.id_ = -1;
  }
  return *this;
}

H5File::~H5File() { close_quietly(); }

void H5File::close_quietly() noexcept {
  if (id_ < 0) return;
  try {
    finish_streams();  // a file not closed explicitly still gets its streams' checksums
  } catch (const Error&) {
    // Unwinding from an earlier failure: the file is being abandoned anyway.
  }
  H5Fclose(id_);
  id_ = -1;
}

void H5File::fail(const std::string& message) const {
  std::string full = str_cat(path_, ": ", message);
  if (errors_ == H5Errors::data) throw DataError(full);
  throw CheckpointError(full);
}

void H5File::flush() {
  LINEA_ASSERT(is_open(), "flush of a closed H5File");
  H5_CHECKED(H5Fflush(id_, H5F_SCOPE_GLOBAL), "/");
}

void H5File::close() {
  if (id_ < 0) return;
  finish_streams();
  hid_t id = id_;
  id_ = -1;
  H5_CHECKED(H5Fclose(id), "/");
}

void H5File::create_parent_groups(const std::string& object) {
  for (size_t slash = object.find('/', 1); slash != std::string::npos; slash = object.find('/', slash + 1)) {
    const std::string group = object.substr(0, slash);
    if (H5_CHECKED(H5Lexists(id_, group.c_str(), H5P_DEFAULT), group) > 0) continue;
    H5Id gcpl(H5_CHECKED(H5Pcreate(H5P_GROUP_CREATE), group), H5Pclose);
    H5_CHECKED(H5Pset_obj_track_times(gcpl, false), group);  // no timestamps: equal data, equal bytes
    H5Id created(H5_CHECKED(H5Gcreate2(id_, group.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT), group), H5Gclose);
  }
}

bool H5File::exists(const std::string& object) const {
  LINEA_ASSERT(is_open(), "exists() on a closed H5File");
  if (object.empty() || object[0] != '/') fail(str_cat("object path '", object, "' must start with '/'"));
  if (object == "/") return true;
  // H5Lexists only checks the last component, so walk the path from the root; every
  // intermediate component must be a group.
  size_t end = 0;
  do {
    end = object.find('/', end + 1);
    std::string prefix = object.substr(0, end);
    if (H5_CHECKED(H5Lexists(id_, prefix.c_str(), H5P_DEFAULT), prefix) <= 0) return false;
    if (end != std::string::npos) {
      H5O_info_t info;
      H5_CHECKED(H5Oget_info_by_name2(id_, prefix.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), prefix);
      if (info.type != H5O_TYPE_GROUP) return false;
    }
  } while (end != std::string::npos);
  return true;
}

int64_t H5File::open_object(const std::string& object) const {
  if (!exists(object)) fail(str_cat("no object '", object, "'"));
  return H5_CHECKED(H5Oopen(id_, object.c_str(), H5P_DEFAULT), object);
}

int64_t H5File::open_dataset(const std::string& object) const {
  if (!exists(object)) fail(str_cat("no dataset '", object, "'"));
  H5O_info_t info;
  H5_CHECKED(H5Oget_info_by_name2(id_, object.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), object);
  if (info.type != H5O_TYPE_DATASET) fail(str_cat("'", object, "' is not a dataset"));
  return H5_CHECKED(H5Dopen2(id_, object.c_str(), H5P_DEFAULT), object);
}

std::vector<std::string> H5File::list(const std::string& group) const {
  H5Id g(open_object(group), H5Oclose);
  std::vector<std::string> names;
  H5_CHECKED(H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, nullptr,
                        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
                          static_cast<std::vector<std::string>*>(out)->push_back(name);
                          return 0;
                        },
                        &names),
             group);
  std::sort(names.begin(), names.end());
  return names;
}

void H5File::write_tensor(const std::string& object, const Tensor& tensor) {
  Tensor t;
  H5Id dset(write_data(object, tensor, t), H5Dclose);
  // Hashed on this thread, after the write: hashing on a second thread while HDF5 copies the
  // data measured slower (both compete for memory bandwidth), unlike on reads.
  set_string_attr(dset, object, kDigestAttr, xxh64_hex(xxh64(t.data_ptr(), t.nbytes())));
}

int64_t H5File::write_data(const std::string& object, const Tensor& tensor, Tensor& written) {
  LINEA_ASSERT(tensor.defined(), "write_tensor of an undefined tensor to ", object);
  if (exists(object)) fail(str_cat("object '", object, "' already exists"));
  written = tensor.to(Device::cpu()).contiguous();
  const Tensor& t = written;
  std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
  H5Id space(t.dim() == 0 ? H5_CHECKED(H5Screate(H5S_SCALAR), object)
                          : H5_CHECKED(H5Screate_simple(int(dims.size()), dims.data(), nullptr), object),
             H5Sclose);
  H5Id file_type(H5_CHECKED(new_file_type(t.dtype()), object), H5Tclose);
  H5Id mem_type(H5_CHECKED(new_memory_type(t.dtype()), object), H5Tclose);
  H5Id dcpl(H5_CHECKED(H5Pcreate(H5P_DATASET_CREATE), object), H5Pclose);
  H5_CHECKED(H5Pset_obj_track_times(dcpl, false), object);  // no timestamps: equal data, equal bytes
  create_parent_groups(object);
  H5Id dset(H5_CHECKED(H5Dcreate2(id_, object.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), object),
            H5Dclose);
  if (t.numel() > 0) H5_CHECKED(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()), object);
  if (t.dtype() == DType::bf16) set_string_attr(dset, object, "linea_dtype", "bf16");
  return dset.release();
}

Shape H5File::dataset_shape(const std::string& object) const {
  H5Id dset(open_dataset(object), H5Dclose);
  return shape_of(dset, object);
}

Shape H5File::shape_of(int64_t dset, const std::string& object) const {
  H5Id space(H5_CHECKED(H5Dget_space(dset), object), H5Sclose);
  int ndims = 0;
  Shape shape = space_shape(space, ndims);
  H5_CHECKED(ndims, object);
  return shape;
}

Tensor H5File::read_tensor(const std::string& object) const {
  std::string want;
  Tensor out = read_contents(object, want);
  if (!want.empty()) check_digest(object, want, xxh64(out.data_ptr(), out.nbytes()));
  return out;
}

void H5File::read_tensors(const std::vector<std::string>& objects,
                          const std::function<void(size_t, const Tensor&)>& consume) const {
  struct Check {
    Tensor data;       // held until hashed
    std::string want;  // "" when read_contents checked it already, or cannot
    uint64_t got = 0;
  };
  std::vector<Check> checks(objects.size());
  std::atomic<int64_t> unhashed_bytes{0};
  std::exception_ptr error;
  // This thread reads (HDF5 is not thread-safe) and consumes; a second one hashes meanwhile.
#pragma omp parallel num_threads(2)
#pragma omp single
  for (size_t i = 0; i < objects.size(); ++i) {
    Check& c = checks[i];
    try {
      c.data = read_contents(objects[i], c.want);
      consume(i, c.data);
    } catch (...) {  // exceptions must not leave the parallel region
      error = std::current_exception();
      break;
    }
    if (c.want.empty()) {
      c.data = Tensor();
      continue;
    }
    // Should hashing fall behind, wait rather than hold the whole file in memory.
    if ((unhashed_bytes += int64_t(c.data.nbytes())) > kMaxUnhashedBytes) {
#pragma omp taskwait
    }
#pragma omp task firstprivate(i) shared(checks, unhashed_bytes)
    {
      Check& hashed = checks[i];
      hashed.got = xxh64(hashed.data.data_ptr(), hashed.data.nbytes());
      unhashed_bytes -= int64_t(hashed.data.nbytes());
      hashed.data = Tensor();
    }
  }
  if (error) std::rethrow_exception(error);
  for (size_t i = 0; i < objects.size(); ++i)
    if (!checks[i].want.empty()) check_digest(objects[i], checks[i].want, checks[i].got);
}

Tensor H5File::read_contents(const std::string& object, std::string& want_digest) const {
  want_digest.clear();
  // Attributes are looked up on the open dataset: resolving its path again for each would
  // cost as much as hashing a small tensor.
  H5Id dset(open_dataset(object), H5Dclose);
  const Shape shape = shape_of(dset, object);
  DType dtype;
  std::string name;
  if (find_string_attr(dset, object, "linea_dtype", name)) {
    try {
      dtype = dtype_from_name(name);
    } catch (const Error&) {
      fail(str_cat("dataset '", object, "' has unknown linea_dtype '", name, "'"));
    }
  } else {
    H5Id type(H5_CHECKED(H5Dget_type(dset), object), H5Tclose);
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    bool is_signed = cls == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_2;
    if (cls == H5T_FLOAT && (size == 2 || size == 4 || size == 8)) {
      dtype = size == 2 ? DType::f16 : size == 4 ? DType::f32 : DType::f64;
    } else if (cls == H5T_INTEGER && size == 1 && !is_signed) {
      dtype = DType::u8;
    } else if (cls == H5T_INTEGER && (is_signed ? size <= 4 : size == 2)) {
      dtype = DType::i32;
    } else if (cls == H5T_INTEGER && (is_signed ? size == 8 : size == 4)) {
      dtype = DType::i64;
    } else {
      fail(str_cat("dataset '", object, "' has an HDF5 type (class ", int(cls), ", ", size,
                   " bytes) that maps to no linea dtype"));
    }
  }
  if (checksummed_ && H5_CHECKED(H5Aexists(dset, kBlockAttr), object) > 0)
    return read_stream_range(dset, object, 0, shape.at(0), dtype);
  Tensor out = Tensor::empty(shape, dtype);
  H5Id mem_type(H5_CHECKED(new_memory_type(dtype), object), H5Tclose);
  if (out.numel() > 0) H5_CHECKED(H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr()), object);
  if (!checksummed_) {
    note_unverified();
    return out;
  }
  // Tensors read back in the dtype they were written from, so these are the stored bytes.
  if (!find_string_attr(dset, object, kDigestAttr, want_digest))
    fail(str_cat(object, ": no ", kDigestAttr,
                 " attribute, expected a checksum on every dataset of a file with checksums"));
  return out;
}

void H5File::check_digest(const std::string& object, const std::string& want, uint64_t got) const {
  if (want != xxh64_hex(got))
    fail(str_cat(object, ": damaged data: its xxh64 is ", xxh64_hex(got), ", expected ", want, " as written"));
}

void H5File::note_unverified() const {
  static std::atomic<bool> said[2];
  const bool shards = errors_ == H5Errors::data;
  if (said[shards].exchange(true)) return;
  std::fprintf(stderr, "linea: warning: %s has no checksums (an older linea wrote it), so it is read unverified "
               "(said once for all %s)\n", path_.c_str(), shards ? "token shards" : "checkpoints");
}

// ---- attributes ----

void H5File::set_attr(int64_t obj, const std::string& object, const std::string& name, int64_t type,
                      const void* value) {
  const std::string where = object + "@" + name;
  if (H5_CHECKED(H5Aexists(obj, name.c_str()), where) > 0) H5_CHECKED(H5Adelete(obj, name.c_str()), where);
  H5Id space(H5_CHECKED(H5Screate(H5S_SCALAR), where), H5Sclose);
  H5Id attr(H5_CHECKED(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), where), H5Aclose);
  H5_CHECKED(H5Awrite(attr, type, value), where);
}

void H5File::set_string_attr(const std::string& object, const std::string& name, const std::string& value) {
  H5Id obj(open_object(object), H5Oclose);
  set_string_attr(obj, object, name, value);
}

void H5File::set_string_attr(int64_t obj, const std::string& object, const std::string& name,
                             const std::string& value) {
  const std::string where = object + "@" + name;
  H5Id type(H5_CHECKED(H5Tcopy(H5T_C_S1), where), H5Tclose);
  H5_CHECKED(H5Tset_size(type, std::max<size_t>(value.size(), 1)), where);
  H5_CHECKED(H5Tset_strpad(type, H5T_STR_NULLPAD), where);
  H5_CHECKED(H5Tset_cset(type, H5T_CSET_UTF8), where);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  set_attr(obj, object, name, type, padded.data());
}

void H5File::set_int_attr(const std::string& object, const std::string& name, int64_t value) {
  H5Id obj(open_object(object), H5Oclose);
  set_attr(obj, object, name, H5T_NATIVE_INT64, &value);
}

void H5File::set_double_attr(const std::string& object, const std::string& name, double value) {
  H5Id obj(open_object(object), H5Oclose);
  set_attr(obj, object, name, H5T_NATIVE_DOUBLE, &value);
}

bool H5File::has_attr(const std::string& object, const std::string& name) const {
  H5Id obj(open_object(object), H5Oclose);
  return H5_CHECKED(H5Aexists(obj, name.c_str()), object + "@" + name) > 0;
}

int64_t H5File::open_attr(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name)) fail(str_cat("no attribute '", name, "' on '", object, "'"));
  return H5_CHECKED(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), object + "@" + name);
}

std::string H5File::string_attr(const std::string& object, const std::string& name) const {
  H5Id attr(open_attr(object, name), H5Aclose);
  return read_string_attr(attr, object + "@" + name);
}

bool H5File::find_string_attr(int64_t obj, const std::string& object, const std::string& name,
                              std::string& value) const {
  const std::string where = object + "@" + name;
  if (H5_CHECKED(H5Aexists(obj, name.c_str()), where) <= 0) return false;
  H5Id attr(H5_CHECKED(H5Aopen(obj, name.c_str(), H5P_DEFAULT), where), H5Aclose);
  value = read_string_attr(attr, where);
  return true;
}

std::string H5File::read_string_attr(int64_t attr, const std::string& where) const {
  H5Id type(H5_CHECKED(H5Aget_type(attr), where), H5Tclose);
  if (H5Tget_class(type) != H5T_STRING) fail(str_cat("attribute '", where, "' is not a string"));
  if (H5_CHECKED(H5Tis_variable_str(type), where) > 0) {  // as h5py writes str
    H5Id mem_type(H5_CHECKED(H5Tcopy(H5T_C_S1), where), H5Tclose);
    H5_CHECKED(H5Tset_size(mem_type, H5T_VARIABLE), where);
    char* text = nullptr;
    H5_CHECKED(H5Aread(attr, mem_type, &text), where);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(type), '\0');
  H5_CHECKED(H5Aread(attr, type, value.data()), where);
  value.resize(std::strlen(value.c_str()));  // drop null padding
  return value;
}

int64_t H5File::int_attr(const std::string& object, const std::string& name) const {
  H5Id attr(open_attr(object, name), H5Aclose);
  return read_int_attr(attr, object + "@" + name);
}

int64_t H5File::read_int_attr(int64_t attr, const std::string& where) const {
  H5Id type(H5_CHECKED(H5Aget_type(attr), where), H5Tclose);
  if (H5Tget_class(type) != H5T_INTEGER) fail(str_cat("attribute '", where, "' is not an integer"));
  int64_t value = 0;
  H5_CHECKED(H5Aread(attr, H5T_NATIVE_INT64, &value), where);
  return value;
}

double H5File::double_attr(const std::string& object, const std::string& name) const {
  std::string where = object + "@" + name;
  H5Id attr(open_attr(object, name), H5Aclose);
  H5Id type(H5_CHECKED(H5Aget_type(attr), where), H5Tclose);
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail(str_cat("attribute '", where, "' is not a number"));
  double value = 0;
  H5_CHECKED(H5Aread(attr, H5T_NATIVE_DOUBLE, &value), where);
  return value;
}

}  // namespace linea
