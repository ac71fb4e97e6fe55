// Writes one record straight into a Kafka topic, as anyone who can reach the broker could: no sidecar,
// no scopes, no token. Run as a single-file program on the stack's own Kafka jars:
//   java -cp '<kafkaLibs>/*' KafkaWrite.java <bootstrap servers>
// with one record per line on stdin: topic, key and value separated by tabs. Prints where each landed.
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

public class KafkaWrite {
  public static void main(String[] args) throws Exception {
    if (args.length != 1) throw new IllegalArgumentException("usage: KafkaWrite <bootstrap servers>");
    Properties settings = new Properties();
    settings.put("bootstrap.servers", args[0]);
    settings.put("key.serializer", StringSerializer.class.getName());
    settings.put("value.serializer", StringSerializer.class.getName());
    settings.put("acks", "all");
    settings.put("max.block.ms", "15000");
    settings.put("request.timeout.ms", "10000");
    settings.put("delivery.timeout.ms", "20000");
    String input = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(settings)) {
      for (String line : input.split("\n")) {
        if (line.isBlank()) continue;
        String[] record = line.split("\t", 3);
        var written = producer.send(new ProducerRecord<>(record[0], record[1], record[2])).get();
        System.out.println(written.topic() + "/" + written.partition() + "@" + written.offset());
      }
    }
  }
}
