// Starts AWS's DynamoDB Local exactly as its own main class does (same command-line flags), with two
// differences that matter on a developer machine:
//  1. it listens on 127.0.0.1 only (the stock launcher binds every interface and has no host flag), and
//  2. it exits when its standard input closes, so it never outlives the Node process that started it,
//     even when that process is killed with SIGKILL.
// Compiled once into the DynamoDB Local cache by automation/local/dynamodb.ts; pinned to 2.9.30's jar
// (DynamoDB Local 1.25.1), whose DynamoDBProxyServer keeps its Jetty server in the field "server".
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public final class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    for (Connector connector : jetty.getConnectors()) {
      if (connector instanceof ServerConnector) ((ServerConnector) connector).setHost("127.0.0.1");
    }
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() != -1) { /* the parent never writes; EOF means it is gone */ }
      } catch (Exception ignored) {
        // a broken pipe means the same thing
      }
      System.exit(0);
    }, "parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    proxy.start();
    System.out.println("DynamoDB Local listening on 127.0.0.1");
  }
}
