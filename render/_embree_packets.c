/* Ray queries in packets of 16 against an Embree 4 scene of one triangle mesh.
 *
 * embreex (the Python binding difsci depends on for Embree) traces one ray per call; Embree's
 * packet entry points trace 16 coherent rays (neighbouring pixels, shadow rays from them) at
 * once, about twice as fast. difsci compiles this file once per machine, links it against the
 * Embree library that embreex ships, and calls it through ctypes (see `render/_embree.py`).
 * Only the declarations used are written out, from Embree 4's public API (rtcore_*.h).
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

typedef struct RTCDeviceTy* RTCDevice;
typedef struct RTCSceneTy* RTCScene;
typedef struct RTCGeometryTy* RTCGeometry;

RTCDevice rtcNewDevice(const char* config);
RTCScene rtcNewScene(RTCDevice device);
void rtcSetSceneBuildQuality(RTCScene scene, int quality);
RTCGeometry rtcNewGeometry(RTCDevice device, int type);
void* rtcSetNewGeometryBuffer(RTCGeometry geometry, int type, unsigned int slot, int format,
                              size_t byte_stride, size_t item_count);
void rtcCommitGeometry(RTCGeometry geometry);
unsigned int rtcAttachGeometry(RTCScene scene, RTCGeometry geometry);
void rtcReleaseGeometry(RTCGeometry geometry);
void rtcCommitScene(RTCScene scene);
void rtcReleaseScene(RTCScene scene);

enum { GEOMETRY_TRIANGLE = 0, BUFFER_INDEX = 0, BUFFER_VERTEX = 1,
       FORMAT_UINT3 = 0x5003, FORMAT_FLOAT3 = 0x9003 };
#define LANES 16
#define INVALID 0xFFFFFFFFu

/* RTCRay16 and RTCHit16: structure of arrays, 64-byte aligned. */
typedef struct __attribute__((aligned(64))) {
  float org_x[LANES], org_y[LANES], org_z[LANES], tnear[LANES];
  float dir_x[LANES], dir_y[LANES], dir_z[LANES], time[LANES];
  float tfar[LANES];
  unsigned mask[LANES], id[LANES], flags[LANES];
} Ray16;

typedef struct __attribute__((aligned(64))) {
  float ng_x[LANES], ng_y[LANES], ng_z[LANES], u[LANES], v[LANES];
  unsigned prim_id[LANES], geom_id[LANES];
  unsigned instance[8][LANES]; /* instance ids (levels vary by build): room to spare, never read */
} Hit16;

typedef struct {
  Ray16 ray;
  Hit16 hit;
} RayHit16;

void rtcIntersect16(const int* valid, RTCScene scene, RayHit16* rayhit, void* arguments);
void rtcOccluded16(const int* valid, RTCScene scene, Ray16* ray, void* arguments);

static RTCDevice device = NULL;

/* A scene of `faces` triangles from their corners, float32 (faces, 3, 3), built at Embree's
 * `quality` (RTCBuildQuality: 0 low, 1 medium, 2 high). NULL on failure. */
void* difsci_build(const float* corners, long faces, int quality) {
  if (device == NULL) device = rtcNewDevice(NULL);
  if (device == NULL) return NULL;
  RTCScene scene = rtcNewScene(device);
  rtcSetSceneBuildQuality(scene, quality);
  RTCGeometry mesh = rtcNewGeometry(device, GEOMETRY_TRIANGLE);
  float* vertices = rtcSetNewGeometryBuffer(mesh, BUFFER_VERTEX, 0, FORMAT_FLOAT3, 3 * sizeof(float), 3 * faces);
  unsigned* indices = rtcSetNewGeometryBuffer(mesh, BUFFER_INDEX, 0, FORMAT_UINT3, 3 * sizeof(unsigned), faces);
  if (vertices == NULL || indices == NULL) return NULL;
  memcpy(vertices, corners, sizeof(float) * 9 * (size_t)faces);
  for (long i = 0; i < 3 * faces; i++) indices[i] = (unsigned)i;
  rtcCommitGeometry(mesh);
  rtcAttachGeometry(scene, mesh);
  rtcReleaseGeometry(mesh);
  rtcCommitScene(scene);
  return scene;
}

void difsci_release(void* scene) { rtcReleaseScene((RTCScene)scene); }

/* Rays [begin, end) of `origins`, `directions` (n, 3). With `lengths` NULL: the face each ray
 * meets first, or -1. Else: 0 where a face lies along the ray closer than `lengths`, else -1. */
void difsci_query(void* scene, const float* origins, const float* directions, const float* lengths, int* out,
                  long begin, long end) {
  RayHit16 packet;
  int valid[LANES];
  for (long start = begin; start < end; start += LANES) {
    int count = (int)(end - start < LANES ? end - start : LANES);
    for (int k = 0; k < LANES; k++) {
      long i = start + (k < count ? k : 0);
      valid[k] = k < count ? -1 : 0;
      packet.ray.org_x[k] = origins[3 * i];
      packet.ray.org_y[k] = origins[3 * i + 1];
      packet.ray.org_z[k] = origins[3 * i + 2];
      packet.ray.dir_x[k] = directions[3 * i];
      packet.ray.dir_y[k] = directions[3 * i + 1];
      packet.ray.dir_z[k] = directions[3 * i + 2];
      packet.ray.tnear[k] = 0.0f;
      packet.ray.time[k] = 0.0f;
      packet.ray.tfar[k] = lengths ? lengths[i] : INFINITY;
      packet.ray.mask[k] = INVALID;
      packet.ray.id[k] = 0;
      packet.ray.flags[k] = 0;
      packet.hit.geom_id[k] = INVALID;
      packet.hit.prim_id[k] = INVALID;
    }
    if (lengths) {
      rtcOccluded16(valid, (RTCScene)scene, &packet.ray, NULL);
      for (int k = 0; k < count; k++) out[start + k] = packet.ray.tfar[k] == -INFINITY ? 0 : -1; /* set when blocked */
    } else {
      rtcIntersect16(valid, (RTCScene)scene, &packet, NULL);
      for (int k = 0; k < count; k++)
        out[start + k] = packet.hit.geom_id[k] == INVALID ? -1 : (int)packet.hit.prim_id[k];
    }
  }
}
