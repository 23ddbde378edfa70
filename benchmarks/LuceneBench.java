// The Lucene peer of benchmarks/bench.py: builds and queries a Lucene index the way bench.py
// measures every engine. Compiled by bench.py at run time (javac, Lucene's jars on the class
// path: Debian's liblucene8-java); bench.py talks to it over a pipe.
//
//   java -cp CP LuceneBench index DIR   < documents   (length-prefixed fields, see bench.py)
//   java -cp CP LuceneBench serve DIR   < queries     (one tab-separated query a line)
//   java -cp CP LuceneBench cold DIR "query words"    (one query, top 10 with highlights)
//
// Stock Lucene: EnglishAnalyzer, BM25Similarity (Lucene's default), MultiFieldQueryParser over
// title^2, question, answer^0.7 (mqt's field weights, words OR'ed), UnifiedHighlighter
// re-analysing the stored text, sorted-set doc-values facets. Totals are exact
// (totalHitsThreshold = Integer.MAX_VALUE), as mqt's are; this turns off Lucene's block-max
// WAND skipping, which only applies when the total may be a lower bound.

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.IntPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.facet.FacetResult;
import org.apache.lucene.facet.Facets;
import org.apache.lucene.facet.FacetsCollector;
import org.apache.lucene.facet.FacetsConfig;
import org.apache.lucene.facet.sortedset.DefaultSortedSetDocValuesReaderState;
import org.apache.lucene.facet.sortedset.SortedSetDocValuesFacetCounts;
import org.apache.lucene.facet.sortedset.SortedSetDocValuesFacetField;
import org.apache.lucene.facet.sortedset.SortedSetDocValuesReaderState;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.MultiFieldQueryParser;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MultiCollector;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopDocsCollector;
import org.apache.lucene.search.TopFieldCollector;
import org.apache.lucene.search.TopScoreDocCollector;
import org.apache.lucene.search.uhighlight.UnifiedHighlighter;
import org.apache.lucene.store.FSDirectory;

public class LuceneBench {
    static final String[] TEXT = {"title", "question", "answer"};
    static final String[] SNIPPET_FIELDS = {"question", "answer"};
    static final String[] FACETS = {"party", "asker", "asked_of", "year", "status", "meeting"};
    // the order of the fields bench.py sends for a document
    static final String[] FIELDS = {"id", "title", "question", "answer", "party", "asker",
                                    "asked_of", "status", "meeting", "date"};

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "index": index(args[1]); break;
            case "serve": serve(args[1]); break;
            case "cold": cold(args[1], args[2]); break;
            default: throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    static String readString(DataInputStream in) throws Exception {
        int len = in.readInt();
        byte[] b = new byte[len];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    static void index(String dir) throws Exception {
        IndexWriterConfig cfg = new IndexWriterConfig(new EnglishAnalyzer());
        cfg.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
        FacetsConfig facets = new FacetsConfig();
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 16));
        int n = 0;
        try (IndexWriter w = new IndexWriter(FSDirectory.open(Paths.get(dir)), cfg)) {
            while (true) {
                int nfields;
                try {
                    nfields = in.readInt();
                } catch (EOFException e) {
                    break;
                }
                Map<String, String> f = new HashMap<>();
                for (int i = 0; i < nfields; i++) f.put(FIELDS[i], readString(in));
                Document d = new Document();
                d.add(new StringField("id", f.get("id"), Field.Store.YES));
                for (String t : TEXT) d.add(new TextField(t, f.get(t), Field.Store.YES));
                int date = Integer.parseInt(f.get("date"));
                d.add(new IntPoint("date", date));
                d.add(new NumericDocValuesField("date", date));
                String party = f.get("party");
                if (!party.isEmpty()) d.add(new StringField("party", party, Field.Store.NO));
                f.put("year", String.valueOf(date / 10000));
                for (String dim : FACETS) {
                    String v = f.get(dim);
                    if (!v.isEmpty()) d.add(new SortedSetDocValuesFacetField(dim, v));
                }
                w.addDocument(facets.build(d));
                n++;
            }
            w.commit();
        }
        System.out.println(n);
    }

    static class Engine {
        final DirectoryReader reader;
        final IndexSearcher searcher;
        final Analyzer analyzer = new EnglishAnalyzer();
        final MultiFieldQueryParser parser;
        final UnifiedHighlighter highlighter;
        SortedSetDocValuesReaderState facetState;  // made on the first faceted query

        Engine(String dir) throws Exception {
            reader = DirectoryReader.open(FSDirectory.open(Paths.get(dir)));
            searcher = new IndexSearcher(reader);
            Map<String, Float> boosts = new HashMap<>();
            boosts.put("title", 2.0f);
            boosts.put("question", 1.0f);
            boosts.put("answer", 0.7f);
            parser = new MultiFieldQueryParser(TEXT, analyzer, boosts);
            highlighter = new UnifiedHighlighter(searcher, analyzer);
        }

        Query query(boolean phrase, String words, String party, String from, String to) throws Exception {
            StringBuilder text = new StringBuilder();
            for (String w : words.split(" ")) {
                if (text.length() > 0) text.append(' ');
                text.append(QueryParser.escape(w));
            }
            Query q = parser.parse(phrase ? "\"" + text + "\"" : text.toString());
            if (party.isEmpty() && from.isEmpty()) return q;
            BooleanQuery.Builder b = new BooleanQuery.Builder().add(q, BooleanClause.Occur.MUST);
            if (!party.isEmpty()) b.add(new TermQuery(new Term("party", party)), BooleanClause.Occur.FILTER);
            if (!from.isEmpty())
                b.add(IntPoint.newRangeQuery("date", Integer.parseInt(from), Integer.parseInt(to)),
                      BooleanClause.Occur.FILTER);
            return b.build();
        }

        /** Answers one request line: mode, phrase (0/1), party, date from, date to (YYYYMMDD or
         *  empty), sort ("" or "newest"), words; returns "total<TAB>id id ...<TAB>nanoseconds"
         *  (plus snippet and facet sizes before the time, when asked for). */
        String run(String line) throws Exception {
            long start = System.nanoTime();
            String out = answer(line);
            return out + "\t" + (System.nanoTime() - start);
        }

        String answer(String line) throws Exception {
            String[] p = line.split("\t", -1);
            String mode = p[0];
            Query q = query(p[1].equals("1"), p[6], p[2], p[3], p[4]);
            TopDocsCollector<?> top = p[5].isEmpty()
                ? TopScoreDocCollector.create(10, Integer.MAX_VALUE)
                : TopFieldCollector.create(new Sort(new SortField("date", SortField.Type.INT, true)), 10,
                                           Integer.MAX_VALUE);
            FacetsCollector fc = mode.equals("facets") ? new FacetsCollector() : null;
            searcher.search(q, fc == null ? top : MultiCollector.wrap(top, fc));
            TopDocs td = top.topDocs();
            StringBuilder out = new StringBuilder().append(td.totalHits.value).append('\t');
            for (ScoreDoc sd : td.scoreDocs)
                out.append(searcher.doc(sd.doc, Collections.singleton("id")).get("id")).append(' ');
            if (!mode.equals("plain")) {
                Map<String, String[]> h = highlighter.highlightFields(SNIPPET_FIELDS, q, td, new int[]{2, 2});
                int chars = 0;
                for (String[] v : h.values()) for (String s : v) if (s != null) chars += s.length();
                out.append('\t').append(chars);
            }
            if (fc != null) {
                if (facetState == null) facetState = new DefaultSortedSetDocValuesReaderState(reader);
                Facets counts = new SortedSetDocValuesFacetCounts(facetState, fc);
                int values = 0;
                for (String dim : FACETS) {
                    SortedSetDocValuesReaderState.OrdRange range = facetState.getOrdRange(dim);
                    if (range == null) continue;
                    FacetResult r = counts.getTopChildren(range.end - range.start + 1, dim);
                    if (r != null) values += r.childCount;
                }
                out.append('\t').append(values);
            }
            return out.toString();
        }
    }

    static void serve(String dir) throws Exception {
        Engine e = new Engine(dir);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        out.println("ready");
        out.flush();
        String line;
        while ((line = in.readLine()) != null) {
            out.println(e.run(line));
            out.flush();
        }
    }

    static void cold(String dir, String words) throws Exception {
        Engine e = new Engine(dir);
        Query q = e.query(false, words, "", "", "");
        TopDocs td = e.searcher.search(q, 10);
        Map<String, String[]> h = e.highlighter.highlightFields(SNIPPET_FIELDS, q, td, new int[]{2, 2});
        for (int i = 0; i < td.scoreDocs.length; i++) {
            Document d = e.searcher.doc(td.scoreDocs[i].doc);
            System.out.println(d.get("title") + " " + h.get("question")[i] + " " + h.get("answer")[i]);
        }
    }
}
