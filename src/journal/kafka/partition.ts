// Which partition holds a guest: the Java client's default partitioner (murmur2 of the key, made
// positive, modulo the partition count), which kafkajs's DefaultPartitioner also implements. The
// journal names the partition itself instead of leaving it to the client: it must know where each
// record went to wait for its own writes, and any other Kafka client keying by guest agrees with it.

const M = 0x5bd1e995
const SEED = 0x9747b28c

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit int. */
export const murmur2 = (data: Uint8Array): number => {
  const length = data.length
  let h = SEED ^ length
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  // the tail bytes, as Java's switch with fall-through takes them
  const tail = length & 3
  if (tail === 3) h ^= data[whole + 2] << 16
  if (tail >= 2) h ^= data[whole + 1] << 8
  if (tail >= 1) {
    h ^= data[whole]
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

export const partitionOf = (guest: string, partitions: number): number =>
  (murmur2(Buffer.from(guest, 'utf8')) & 0x7fffffff) % partitions
