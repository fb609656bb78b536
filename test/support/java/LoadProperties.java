import java.io.FileInputStream;
import java.io.InputStream;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Loads config.properties files the way TorchServe's ConfigManager does and prints each as JSON, one
 * line per file, in the order given (one JVM start for many files).
 */
public class LoadProperties {
    public static void main(String[] args) throws Exception {
        for (String file : args) {
            Properties properties = new Properties();
            try (InputStream in = new FileInputStream(file)) {
                properties.load(in);
            }
            StringBuilder json = new StringBuilder("{");
            for (var entry : new TreeMap<>(properties).entrySet()) {
                if (json.length() > 1) json.append(',');
                json.append(quote(entry.getKey().toString())).append(':').append(quote(entry.getValue().toString()));
            }
            System.out.println(json.append('}'));
        }
    }

    private static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }
}
